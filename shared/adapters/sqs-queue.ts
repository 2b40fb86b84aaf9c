import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { PaymentNotification } from '../domain/notification';
import type { NotificationQueue } from '../core/ports';

/**
 * The queue between the callback and the worker. `useQueueUrlAsEndpoint: false` keeps every call
 * on the configured endpoint (required by local stand-ins whose queue URLs name other hosts).
 */
export function sqsClient(endpoint?: string): SQSClient {
  return new SQSClient({ ...(endpoint ? { endpoint } : {}), useQueueUrlAsEndpoint: false });
}

export function sqsNotificationQueue(client: SQSClient, queueUrl: string): NotificationQueue {
  return {
    async enqueue(notification: PaymentNotification) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(notification),
          MessageAttributes: {
            provider: { DataType: 'String', StringValue: notification.provider },
            eventId: { DataType: 'String', StringValue: notification.eventId },
          },
        }),
      );
    },
  };
}
