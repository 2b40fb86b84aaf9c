import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct, Node } from 'constructs';
import { DEFAULT_PROVIDER_CALLS_PER_SECOND } from '../src/providers/kit/http';

/**
 * The expiry wave's AWS side (docs/ARCHITECTURE.md#the-expiry-wave): the due-payment queue the
 * sweeper fills, its DLQ, and the expiry worker's event source, as wide as the deployment says.
 */

/** A batch of ten, each a query and a close of at most 6.3 s, in lanes: well inside a minute. */
export const EXPIRY_WORKER_TIMEOUT = Duration.seconds(60);
/** Receives before a due-payment message is dead-lettered (the payment stays due: the sweeper finds it again). */
export const DUE_PAYMENT_MAX_RECEIVE_COUNT = 5;
export const EXPIRY_WORKER_BATCH_SIZE = 10;
/** Worker containers at once (the event source's maxConcurrency); each takes its share of the merchant's call rate. */
export const DEFAULT_EXPIRY_WORKER_MAX_CONCURRENCY = 10;

export interface DueQueueResources {
  queue: Queue;
  deadLetterQueue: Queue;
}

/** Context `expiryWorkerMaxConcurrency` (2 to 1,000, SQS's range) and `providerCallsPerSecond` (per merchant). */
export function expiryWaveSettings(node: Node): { maxConcurrency: number; providerCallsPerSecond: number } {
  const read = (name: string, fallback: number, [min, max]: [number, number]) => {
    const raw = node.tryGetContext(name) as unknown;
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`context ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return value;
  };
  return {
    maxConcurrency: read('expiryWorkerMaxConcurrency', DEFAULT_EXPIRY_WORKER_MAX_CONCURRENCY, [2, 1_000]),
    providerCallsPerSecond: read('providerCallsPerSecond', DEFAULT_PROVIDER_CALLS_PER_SECOND, [1, 10_000]),
  };
}

export function dueQueueResources(scope: Construct): DueQueueResources {
  const deadLetterQueue = new Queue(scope, 'DuePaymentDLQ', {
    retentionPeriod: Duration.days(14),
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const queue = new Queue(scope, 'DuePaymentQueue', {
    // AWS's rule for Lambda consumers: hidden while six worker invocations could run.
    visibilityTimeout: Duration.seconds(6 * EXPIRY_WORKER_TIMEOUT.toSeconds()),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: DUE_PAYMENT_MAX_RECEIVE_COUNT },
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  return { queue, deadLetterQueue };
}

/** The worker consumes the queue: batches of ten, at most `maxConcurrency` containers, failures reported per message. */
export function feedExpiryWorker(resources: DueQueueResources, worker: IFunction, maxConcurrency: number): void {
  worker.addEventSource(
    new SqsEventSource(resources.queue, {
      batchSize: EXPIRY_WORKER_BATCH_SIZE,
      maxConcurrency,
      reportBatchItemFailures: true,
    }),
  );
}
