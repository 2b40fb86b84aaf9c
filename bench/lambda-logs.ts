import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { SERVICE_NAME } from '../cdk/payments-function';
import { emfMetrics } from '../src/aws/observability';
import type { Logger } from '../src/core/kernel/deps';
import { Metric, METRICS_NAMESPACE, type Metrics } from '../src/core/kernel/metric-names';
import { type MetricSample, RecordedMetrics } from '../local/recorded-metrics';

/**
 * What an invocation writes to CloudWatch Logs in Lambda, for the bench's cost figures: the log
 * lines and metric samples the local runtime recorded for it, replayed through Powertools Logger
 * (with the invocation's context, as the handlers' injectLambdaContext adds it) and Powertools
 * Metrics (EMF, flushed once per invocation, as logMetrics does), and the bytes they print counted.
 * Lambda's own START, END, REPORT and X-Ray lines are not printed by any library: their size is
 * PLATFORM_LOG_BYTES_PER_INVOCATION.
 */
export const PLATFORM_LOG_BYTES_PER_INVOCATION = 400;

interface LogCall {
  level: keyof Logger;
  message: string;
  fields?: Record<string, unknown>;
}

/**
 * Records what the functions using `deps` log and measure (its logger and metrics are wrapped),
 * and prices it invocation by invocation: `invoked(fn)` says that everything since the last call
 * was one invocation of `fn`, except the outbox publisher's EventsPublished samples, one
 * publisher invocation each. `bytes()` is the total so far.
 */
export function invocationLogs(deps: { logger: Logger; metrics: Metrics }) {
  let calls: LogCall[] = [];
  const recorded = new RecordedMetrics();
  const [logger, metrics] = [deps.logger, deps.metrics];
  const log = (level: keyof Logger) => (message: string, fields?: Record<string, unknown>) => {
    calls.push({ level, message, fields });
    logger[level](message, fields);
  };
  deps.logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  deps.metrics = {
    count: (...sample) => [recorded, metrics].forEach((to) => to.count(...sample)),
    observe: (...sample) => [recorded, metrics].forEach((to) => to.observe(...sample)),
  };
  let bytes = 0;
  return {
    invoked(fn: string) {
      const samples = recorded.samples.splice(0);
      const published = samples.filter((sample) => sample.name === Metric.EventsPublished);
      bytes += lambdaLogBytes(
        fn,
        calls,
        samples.filter((sample) => !published.includes(sample)),
      );
      for (const sample of published) bytes += lambdaLogBytes('outbox-publisher', [], [sample]);
      calls = [];
    },
    bytes: () => bytes,
  };
}

/** The bytes one invocation of `fn` that logged `calls` and measured `samples` prints in Lambda. */
function lambdaLogBytes(fn: string, calls: readonly LogCall[], samples: readonly MetricSample[]): number {
  let bytes = 0;
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }) as typeof process.stdout.write;
  try {
    const logger = new PowertoolsLogger({ serviceName: SERVICE_NAME });
    logger.addContext(lambdaContext(fn));
    const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
    const port = emfMetrics(metrics);
    for (const { level, message, fields } of calls) logger[level](message, fields ?? {});
    for (const { name, value, unit, dimensions } of samples) port.observe(name, value, unit, dimensions);
    metrics.publishStoredMetrics();
  } finally {
    process.stdout.write = write;
  }
  return bytes + PLATFORM_LOG_BYTES_PER_INVOCATION;
}

function lambdaContext(fn: string): Context {
  const functionName = `PaymentsStack-${fn}-AbCdEf012345`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:ap-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: '3f1e2d4c-5b6a-4789-8abc-0123456789ab',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/29/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
