import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { WebhookAttemptRequest, WebhookQueue } from '../core/webhooks/ports';
import { AWS_CLIENT_LIMITS } from './aws-client-limits';
import { requiredEnv } from './env';
import { sqsClient } from './sqs-queue';

/** Attempt requests onto the webhook queue, ten to a SendMessageBatch, each delayed as asked (at most 900 s). */
export function sqsWebhookQueue(client: SQSClient, queueUrl: string): WebhookQueue {
  return {
    async enqueue(requests: readonly WebhookAttemptRequest[], delaySeconds: number) {
      for (let start = 0; start < requests.length; start += 10) {
        const batch = requests.slice(start, start + 10);
        const result = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((request, index) => ({
              Id: String(index),
              MessageBody: JSON.stringify(request),
              DelaySeconds: delaySeconds,
            })),
          }),
        );
        const failed = result.Failed ?? [];
        if (failed.length > 0)
          throw new Error(
            `the webhook queue refused ${failed.length} request(s): ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`,
          );
      }
    },
  };
}

/** A function's `webhookQueue` capability (wiring.ts): the queue WEBHOOK_QUEUE_URL. */
export function webhookQueue(env: NodeJS.ProcessEnv): WebhookQueue {
  return sqsWebhookQueue(sqsClient(AWS_CLIENT_LIMITS), requiredEnv('WEBHOOK_QUEUE_URL', env));
}
