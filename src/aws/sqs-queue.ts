import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { PaymentNotification, RefundNotification } from '../domain/notification';
import type { NotificationQueue } from '../core/payments/notification-ports';
import { AWS_CLIENT_LIMITS } from './aws-client-limits';
import { requiredEnv } from './env';

/**
 * The queue between the callback and the worker. `useQueueUrlAsEndpoint: false` keeps every call
 * on the configured endpoint (required by local stand-ins whose queue URLs name other hosts).
 */
export function sqsClient(options: SQSClientConfig = {}): SQSClient {
  return new SQSClient({ ...options, useQueueUrlAsEndpoint: false });
}

/** A function's `queue` capability (wiring.ts): the worker's queue NOTIFICATION_QUEUE_URL (and its DLQ, to replay it). */
export function sqsQueue(env: NodeJS.ProcessEnv): NotificationQueue {
  const queueUrl = requiredEnv('NOTIFICATION_QUEUE_URL', env);
  const dlqUrl = env.NOTIFICATION_DLQ_URL;
  const region = dlqUrl ? awsQueueRegion(dlqUrl) : undefined;
  return sqsNotificationQueue(sqsClient({ ...AWS_CLIENT_LIMITS, ...(region ? { region } : {}) }), queueUrl, dlqUrl);
}

export function sqsNotificationQueue(client: SQSClient, queueUrl: string, dlqUrl?: string): NotificationQueue {
  return {
    async replayDeadLetters() {
      if (!dlqUrl) throw new Error('No NOTIFICATION_DLQ_URL: this function cannot replay dead letters');
      if (awsQueueRegion(dlqUrl) && awsQueueRegion(queueUrl)) {
        const task = await startDeadLetterRedrive(client, { queueUrl, dlqUrl });
        return { moved: task.messagesToMove, detail: `SQS message move task ${task.taskHandle}` };
      }
      const moved = await redriveDeadLetters(client, { queueUrl, dlqUrl });
      return { moved, detail: `re-drove ${moved} message(s) one by one` };
    },
    async enqueue(notification: PaymentNotification | RefundNotification) {
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
 * The region of an SQS queue URL in AWS (https://sqs.<region>.amazonaws.com/<account>/<name>, or
 * the legacy <region>.queue.amazonaws.com); undefined for a local stand-in's URL.
 */
export function awsQueueRegion(queueUrl: string): string | undefined {
  if (!URL.canParse(queueUrl)) return undefined;
  const host = new URL(queueUrl).hostname;
  return (
    /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host)?.[1] ??
    /^([a-z0-9-]+)\.queue\.amazonaws\.com(\.cn)?$/.exec(host)?.[1]
  );
}

export interface RedriveTask {
  /** Identifies the move task: `aws sqs list-message-move-tasks --source-arn <sourceArn>` follows it, CancelMessageMoveTask stops it. */
  taskHandle: string;
  sourceArn: string;
  destinationArn: string;
  /** Messages in the dead-letter queue when the task started (approximate, as SQS counts). */
  messagesToMove: number;
}

/**
 * The redrive in AWS: SQS itself moves every dead-lettered notification back to the worker's
 * queue (StartMessageMoveTask), asynchronously; the task handle identifies it. The worker dedupes,
 * so a notification that was in fact applied is harmless.
 */
export async function startDeadLetterRedrive(
  client: SQSClient,
  from: { dlqUrl: string; queueUrl: string },
): Promise<RedriveTask> {
  const attributes = async (queueUrl: string) => {
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'],
      }),
    );
    if (!Attributes?.QueueArn) throw new Error(`SQS did not return the ARN of ${queueUrl}`);
    return { arn: Attributes.QueueArn, messages: Number(Attributes.ApproximateNumberOfMessages ?? 0) };
  };
  const [source, destination] = [await attributes(from.dlqUrl), await attributes(from.queueUrl)];
  try {
    const { TaskHandle } = await client.send(
      new StartMessageMoveTaskCommand({ SourceArn: source.arn, DestinationArn: destination.arn }),
    );
    if (!TaskHandle) throw new Error('SQS returned no task handle');
    return {
      taskHandle: TaskHandle,
      sourceArn: source.arn,
      destinationArn: destination.arn,
      messagesToMove: source.messages,
    };
  } catch (error) {
    throw new Error(
      `Could not start moving messages from ${source.arn} to ${destination.arn}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The redrive for local stand-ins without StartMessageMoveTask (fauxqs): moves dead-lettered
 * notifications back one by one. Each is sent before it is deleted, so a crash in between
 * duplicates rather than loses: the worker dedupes. Returns how many were moved.
 */
export async function redriveDeadLetters(
  client: SQSClient,
  from: { dlqUrl: string; queueUrl: string },
  max = 1000,
): Promise<number> {
  let moved = 0;
  while (moved < max) {
    const batch = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: from.dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = batch.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: from.queueUrl,
          MessageBody: message.Body!,
          MessageAttributes: message.MessageAttributes,
        }),
      );
      await client.send(new DeleteMessageCommand({ QueueUrl: from.dlqUrl, ReceiptHandle: message.ReceiptHandle! }));
      moved++;
    }
  }
  return moved;
}
