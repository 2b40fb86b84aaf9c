import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { powertoolsObservability } from '../../../src/aws/observability';
import { Metric } from '../../../src/core/kernel/metric-names';
import { lambdaHandler } from '../../../src/runtime/wiring';

/** A Lambda context as the runtime passes it. */
const context = (awsRequestId: string) =>
  ({
    functionName: 'create-order',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:create-order',
    memoryLimitInMB: '512',
    awsRequestId,
    getRemainingTimeInMillis: () => 10_000,
  }) as unknown as Context;

type Line = Record<string, unknown> & { _aws?: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> } };

let written: string[];

beforeEach(() => {
  // Lambda sets it; Powertools only reports cold starts of on-demand containers.
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
  written = [];
  // What Lambda ships to CloudWatch Logs: Powertools writes its log and EMF lines to stdout.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const lines = (): Line[] =>
  written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
const emfWith = (name: string) =>
  lines().filter((line) => line._aws?.CloudWatchMetrics[0]?.Metrics.some((metric) => metric.Name === name));

/** A handler as every function builds it (lambdaHandler), with the Lambda observability. */
function observedHandler() {
  const observability = powertoolsObservability('payments');
  const handler = lambdaHandler(
    { deps: () => Promise.reject(new Error('not used here')), observability: observability.middleware },
    async (event: { fail: boolean }) => {
      observability.metrics.count(Metric.OrdersCreated);
      observability.logger.info('creating the order');
      if (event.fail) throw new Error('DynamoDB unavailable');
      return 'created';
    },
  );
  return handler;
}

describe('observability middleware (src/aws/observability.ts)', () => {
  it('records the ColdStart metric on a container first invocation only, named by function', async () => {
    const handler = observedHandler();

    await handler({ fail: false }, context('req-1'));
    await handler({ fail: false }, context('req-2'));

    const coldStarts = emfWith('ColdStart');
    expect(coldStarts).toHaveLength(1);
    expect(coldStarts[0]).toMatchObject({ ColdStart: 1, function_name: 'create-order', service: 'payments' });
  });

  it('flushes the metrics of every invocation, a failed one too', async () => {
    const handler = observedHandler();

    await expect(handler({ fail: false }, context('req-1'))).resolves.toBe('created');
    await expect(handler({ fail: true }, context('req-2'))).rejects.toThrow('DynamoDB unavailable');

    expect(emfWith(Metric.OrdersCreated).map((line) => line[Metric.OrdersCreated])).toEqual([1, 1]);
  });

  it('stamps each log line with its invocation: request id and cold start', async () => {
    const handler = observedHandler();

    await handler({ fail: false }, context('req-1'));
    await handler({ fail: true }, context('req-2')).catch(() => undefined);

    const logs = lines().filter((line) => line.message === 'creating the order');
    expect(
      logs.map(({ function_request_id, cold_start, function_name }) => ({
        function_request_id,
        cold_start,
        function_name,
      })),
    ).toEqual([
      { function_request_id: 'req-1', cold_start: true, function_name: 'create-order' },
      { function_request_id: 'req-2', cold_start: false, function_name: 'create-order' },
    ]);
  });
});
