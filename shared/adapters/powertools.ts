import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Logger } from '../core/deps';
import { METRICS_NAMESPACE, type MetricName, type Metrics, type MetricUnit as Unit } from '../core/metric-names';

const UNITS: Record<Unit, (typeof MetricUnit)[keyof typeof MetricUnit]> = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds, Seconds: MetricUnit.Seconds };

/**
 * Metrics as CloudWatch EMF log lines (no PutMetricData on the hot path). Each observation is
 * recorded without dimensions (the headline figure the dashboard and alarms use) and, when it has
 * dimensions such as provider or reason, once more with them for the breakdowns.
 */
export function emfMetrics(serviceName: string): Metrics {
  const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName });
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
    flush: () => {
      metrics.publishStoredMetrics();
    },
  };
}

export function powertoolsLogger(serviceName: string): Logger {
  const logger = new PowertoolsLogger({ serviceName });
  return {
    debug: (message, fields) => logger.debug(message, fields ?? {}),
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
}
