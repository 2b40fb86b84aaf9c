import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DuePaymentMessage, DuePaymentQueue } from '../core/sweeper/ports';
import { AWS_CLIENT_LIMITS } from './aws-client-limits';
import { requiredEnv } from './env';
import { sqsClient } from './sqs-queue';

/** Due payments onto the expiry worker's queue, ten to a SendMessageBatch; a refused entry fails the call (the sweeper's next run finds it again). */
export function sqsDuePaymentQueue(client: SQSClient, queueUrl: string): DuePaymentQueue {
  return {
    async enqueue(messages: readonly DuePaymentMessage[], delaySeconds = 0) {
      for (let start = 0; start < messages.length; start += 10) {
        const result = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.slice(start, start + 10).map((message, index) => ({
              Id: String(index),
              MessageBody: JSON.stringify(message),
              DelaySeconds: delaySeconds,
            })),
          }),
        );
        const failed = result.Failed ?? [];
        if (failed.length > 0)
          throw new Error(`the due-payment queue refused ${failed.length} message(s): ${failed[0]!.Code}`);
      }
    },
  };
}

/** A function's `dueQueue` capability (wiring.ts): the queue DUE_PAYMENT_QUEUE_URL. */
export function dueQueue(env: NodeJS.ProcessEnv): DuePaymentQueue {
  return sqsDuePaymentQueue(sqsClient(AWS_CLIENT_LIMITS), requiredEnv('DUE_PAYMENT_QUEUE_URL', env));
}
