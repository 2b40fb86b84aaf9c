import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { parseNotificationMessage } from '../../src/core/kernel/messages';
import { recordFailure, recordRecovery } from '../../src/core/payments/notification-failures';
import { applyNotification } from '../../src/core/payments/notifications';
import { applyRefundNotification } from '../../src/core/refunds/refund-notifications';
import { isRefundNotification } from '../../src/domain/notification';
import { lambdaHandler, type Wiring } from '../../src/runtime/wiring';

/**
 * SQS → apply each notification. A record that throws is reported as a partial batch failure:
 * SQS redelivers only it, and after maxReceiveCount moves it to the dead-letter queue. Each
 * failure is recorded (the staff dead-letter list), and cleared when a redelivery applies it.
 */
export const makeHandler = (wiring: Wiring) => {
  const processor = new BatchProcessor(EventType.SQS);
  return lambdaHandler(wiring, async (event: SQSEvent, context: Context) => {
    const deps = await wiring.deps();
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const notification = parseNotificationMessage(record.body);
        const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
        try {
          const result = await (isRefundNotification(notification)
            ? applyRefundNotification(deps, notification)
            : applyNotification(deps, notification));
          await recordRecovery(deps, notification, receiveCount);
          return result;
        } catch (error) {
          await recordFailure(deps, notification, receiveCount, error);
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
