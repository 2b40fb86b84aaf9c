import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { parseNotificationMessage } from '../../shared/core/messages';
import { applyNotification } from '../../shared/core/notifications';
import type { DepsProvider } from '../../shared/http/handler';

/**
 * SQS → apply each notification. A record that throws is reported as a partial batch failure:
 * SQS redelivers only it, and after maxReceiveCount moves it to the dead-letter queue.
 */
export const makeHandler = (getDeps: DepsProvider) => {
  const processor = new BatchProcessor(EventType.SQS);
  return async (event: SQSEvent, context: Context) => {
    const deps = await getDeps();
    try {
      return await processPartialResponse(
        event,
        async (record: SQSRecord) => {
          const notification = parseNotificationMessage(record.body);
          try {
            return await applyNotification(deps, notification);
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
    } finally {
      deps.metrics.flush();
    }
  };
};

export const handler = makeHandler(awsDeps);
