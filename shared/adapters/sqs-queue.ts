import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type SQSClientConfig, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { PaymentNotification } from '../domain/notification';
import type { NotificationQueue } from '../core/ports';

/**
 * The queue between the callback and the worker. `useQueueUrlAsEndpoint: false` keeps every call
 * on the configured endpoint (required by local stand-ins whose queue URLs name other hosts).
 */
export function sqsClient(options: SQSClientConfig = {}): SQSClient {
  return new SQSClient({ ...options, useQueueUrlAsEndpoint: false });
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

/**
 * Moves dead-lettered notifications back to the main queue (after the cause is fixed). Each is
 * sent before it is deleted, so a crash in between duplicates rather than loses: the worker
 * dedupes. Returns how many were moved.
 */
export async function redriveDeadLetters(client: SQSClient, from: { dlqUrl: string; queueUrl: string }, max = 1000): Promise<number> {
  let moved = 0;
  while (moved < max) {
    const batch = await client.send(
      new ReceiveMessageCommand({ QueueUrl: from.dlqUrl, MaxNumberOfMessages: Math.min(10, max - moved), WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
    );
    const messages = batch.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) {
      await client.send(new SendMessageCommand({ QueueUrl: from.queueUrl, MessageBody: message.Body!, MessageAttributes: message.MessageAttributes }));
      await client.send(new DeleteMessageCommand({ QueueUrl: from.dlqUrl, ReceiptHandle: message.ReceiptHandle! }));
      moved++;
    }
  }
  return moved;
}
