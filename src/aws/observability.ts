import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type middy from '@middy/core';
import type { Logger } from '../core/kernel/deps';
import { METRICS_NAMESPACE, type MetricName, type Metrics, type MetricUnit as Unit } from '../core/kernel/metric-names';

/** What one function logs and measures with, and the middleware that does it around each invocation. */
export interface Observability {
  logger: Logger;
  metrics: Metrics;
  /** The outermost middleware of every handler (lambdaHandler in src/runtime/wiring.ts). */
  middleware: middy.MiddlewareObj[];
}

/**
 * Lambda: Powertools. Log lines carry the invocation's context (request id, cold start), and keys
 * a request appended are dropped after it; EMF metrics are flushed after every invocation, a
 * failed one too; a container's first invocation adds the ColdStart metric.
 */
export function powertoolsObservability(serviceName: string): Observability {
  const logger = new PowertoolsLogger({ serviceName });
  const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName });
  return {
    logger: loggerPort(logger),
    metrics: emfMetrics(metrics),
    middleware: [
      injectLambdaContext(logger, { resetKeys: true }),
      logMetrics(metrics, { captureColdStartMetric: true }),
    ],
  };
}

const UNITS: Record<Unit, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Count: MetricUnit.Count,
  Milliseconds: MetricUnit.Milliseconds,
  Seconds: MetricUnit.Seconds,
};

/**
 * Metrics as CloudWatch EMF log lines (no PutMetricData on the hot path). Each observation is
 * recorded without dimensions (the headline figure the dashboard and alarms use) and, when it has
 * dimensions such as provider or reason, once more with them for the breakdowns.
 */
export function emfMetrics(metrics: PowertoolsMetrics): Metrics {
  const record = (name: MetricName, value: number, unit: Unit, dimensions?: Record<string, string>) => {
    metrics.addMetric(name, UNITS[unit], value);
    if (dimensions && Object.keys(dimensions).length > 0) {
      const single = metrics.singleMetric();
      single.addDimensions(dimensions);
      single.addMetric(name, UNITS[unit], value);
    }
  };
  return {
    count: (name, value = 1, dimensions) => record(name, value, 'Count', dimensions),
    observe: (name, value, unit, dimensions) => record(name, value, unit, dimensions),
  };
}

function loggerPort(logger: PowertoolsLogger): Logger {
  return {
    debug: (message, fields) => logger.debug(message, fields ?? {}),
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
}
