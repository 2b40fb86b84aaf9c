import { NOTIFICATION_MAX_RECEIVES } from '../src/core/payments/notification-ports';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { sqsClient, sqsNotificationQueue } from '../src/aws/sqs-queue';
import { sqsDuePaymentQueue } from '../src/aws/due-queue';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-emulator';

/** Attempts before a notification is dead-lettered: the same number the CDK stack sets. */
export const MAX_RECEIVE_COUNT = NOTIFICATION_MAX_RECEIVES;

export interface LocalQueues {
  endpoint: string;
  queueUrl: string;
  dlqUrl: string;
  /** The sweeper → expiry worker queue (with its own DLQ, as in AWS). */
  dueQueueUrl: string;
  /** Resolves once the due-payment queue holds nothing, visible, in flight or delayed (at most `timeoutMs`). */
  dueQueueDrained(timeoutMs?: number): Promise<void>;
  client: SQSClient;
  /** Messages waiting in the dead-letter queue. */
  deadLetterDepth(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The SQS stand-in (fauxqs, in process, SQS JSON protocol) with the notification queue and its
 * dead-letter queue wired by a redrive policy, as in AWS.
 */
export async function startLocalQueues(
  options: { port?: number; visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<LocalQueues> {
  const server: FauxqsServer = await startFauxqs({
    port: options.port ?? 0,
    logger: false,
    defaultRegion: LOCAL_REGION,
  });
  const dlq = server.createQueue('payment-notifications-dlq', {
    region: LOCAL_REGION,
    attributes: { MessageRetentionPeriod: '1209600' },
  });
  const queue = server.createQueue('payment-notifications', {
    region: LOCAL_REGION,
    attributes: {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.queueArn,
        maxReceiveCount: String(options.maxReceiveCount ?? MAX_RECEIVE_COUNT),
      }),
    },
  });
  const dueDlq = server.createQueue('due-payments-dlq', { region: LOCAL_REGION });
  const dueQueue = server.createQueue('due-payments', {
    region: LOCAL_REGION,
    attributes: {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dueDlq.queueArn, maxReceiveCount: '5' }),
    },
  });
  const endpoint = server.address;
  const client = sqsClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    queueUrl: queue.queueUrl,
    dlqUrl: dlq.queueUrl,
    dueQueueUrl: dueQueue.queueUrl,
    client,
    dueQueueDrained: (timeoutMs = 60_000) => drained(client, dueQueue.queueUrl, timeoutMs),
    async deadLetterDepth() {
      const attributes = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0);
    },
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}

/** Resolves once the queue holds nothing, visible, in flight or delayed; throws after `timeoutMs`. */
async function drained(client: SQSClient, queueUrl: string, timeoutMs: number): Promise<void> {
  const stopAt = Date.now() + timeoutMs;
  for (;;) {
    const { Attributes = {} } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    if (Object.values(Attributes).every((count) => Number(count) === 0)) return;
    if (Date.now() > stopAt) throw new Error(`${queueUrl} not drained within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The ports the local queues stand behind: the notification queue (with its DLQ) and the due-payment queue. */
export function localQueuePorts(queues: LocalQueues) {
  return {
    queue: sqsNotificationQueue(queues.client, queues.queueUrl, queues.dlqUrl),
    dueQueue: sqsDuePaymentQueue(queues.client, queues.dueQueueUrl),
  };
}
