import { NOTIFICATION_MAX_RECEIVES } from '../src/core/payments/notification-ports';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { sqsClient } from '../src/aws/sqs-queue';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-emulator';

/** Attempts before a notification is dead-lettered: the same number the CDK stack sets. */
export const MAX_RECEIVE_COUNT = NOTIFICATION_MAX_RECEIVES;

export interface LocalQueues {
  endpoint: string;
  queueUrl: string;
  dlqUrl: string;
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
  const endpoint = server.address;
  const client = sqsClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    queueUrl: queue.queueUrl,
    dlqUrl: dlq.queueUrl,
    client,
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
