import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { webhookKeys } from '../../src/aws/kms-data-keys';
import { webhookQueue } from '../../src/aws/webhook-queue';
import { awsWebhookSender } from '../../src/aws/webhook-sender';
import { deliverEvent, endpointsOnce, handleAttemptRequest } from '../../src/core/webhooks/deliver';
import { parseWebhookMessage } from '../../src/core/webhooks/messages';
import { lambdaHandler, type Wiring } from '../../src/runtime/wiring';

/**
 * The webhook queue → signed POSTs (docs/ARCHITECTURE.md#webhooks). Each record is a bus event
 * (from the EventBridge rule) or an attempt request (a retry hop, a replay); records run side by
 * side, so one hanging endpoint delays no other. A record that throws is a partial batch failure:
 * SQS brings it back, and after maxReceiveCount moves it to the webhook DLQ (alarmed).
 */
export const makeHandler = (wiring: Wiring) => {
  const processor = new BatchProcessor(EventType.SQS);
  return lambdaHandler(wiring, async (event: SQSEvent, context: Context) => {
    const deps = await wiring.deps();
    const endpoints = endpointsOnce(deps);
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const message = parseWebhookMessage(record.body);
        try {
          if (message.kind === 'event') return await deliverEvent(deps, message.event, await endpoints());
          return await handleAttemptRequest(deps, message);
        } catch (error) {
          deps.logger.warn('webhook message not handled; it will be retried', {
            message: message.kind === 'event' ? message.event.id : `${message.deliveryId} (${message.trigger})`,
            receiveCount: record.attributes.ApproximateReceiveCount,
            error: String(error),
          });
          throw error;
        }
      },
      processor,
      { context },
    );
  });
};

export const handler = makeHandler(
  awsWiring('webhook-deliverer', {
    table: dynamoTable,
    webhookQueue,
    webhookKeys,
    webhookSender: awsWebhookSender,
  }),
);
