import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { parseNotificationMessage } from '../../shared/core/messages';
import { applyNotification } from '../../shared/core/notifications';
import { applyRefundNotification } from '../../shared/core/refund-notifications';
import { isRefundNotification } from '../../shared/domain/notification';
import { lambdaHandler, type Wiring } from '../../shared/http/handler';

/**
 * SQS → apply each notification. A record that throws is reported as a partial batch failure:
 * SQS redelivers only it, and after maxReceiveCount moves it to the dead-letter queue.
 */
export const makeHandler = (wiring: Wiring) => {
  const processor = new BatchProcessor(EventType.SQS);
  return lambdaHandler(wiring, async (event: SQSEvent, context: Context) => {
    const deps = await wiring.deps();
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const notification = parseNotificationMessage(record.body);
        try {
          return await (isRefundNotification(notification) ? applyRefundNotification(deps, notification) : applyNotification(deps, notification));
        } catch (error) {
          deps.logger.warn('notification not applied; it will be retried', {
            eventId: notification.eventId,
            paymentId: notification.paymentId,
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

export const handler = makeHandler(awsWiring('payment-worker', { table: dynamoTable }));
