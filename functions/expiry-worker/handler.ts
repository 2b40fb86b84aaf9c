import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { dueQueue } from '../../src/aws/due-queue';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { type DueDelivery, settleDuePayments } from '../../src/core/sweeper/expiry-worker';
import { parseDuePaymentMessage } from '../../src/core/sweeper/ports';
import { lambdaHandler, type Wiring } from '../../src/runtime/wiring';

/** Left of the invocation's time when the batch stops starting work: enough to finish a provider call and its writes. */
const STOP_BEFORE_TIMEOUT_MS = 15_000;

/**
 * The due-payment queue → each payment settled (reminder, provider query and close, expiry, stock
 * back). What it could not settle in time, or at all, is a partial batch failure: SQS brings it
 * back, and after maxReceiveCount moves it to the DLQ (alarmed); the payment also stays in the due
 * index, so the sweeper's next run finds it again. A body that is no due-payment message fails alike.
 */
export const makeHandler = (wiring: Wiring) =>
  lambdaHandler(wiring, async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const deps = await wiring.deps();
    const deliveries: DueDelivery[] = [];
    const unreadable: string[] = [];
    for (const record of event.Records) {
      const message = parseDuePaymentMessage(record.body);
      if (message) deliveries.push({ messageId: record.messageId, message });
      else unreadable.push(record.messageId);
    }
    if (unreadable.length > 0) deps.logger.error('due-payment messages not readable', { messageIds: unreadable });
    const budgetMs = Math.max(1_000, context.getRemainingTimeInMillis() - STOP_BEFORE_TIMEOUT_MS);
    const report = await settleDuePayments(deps, deliveries, budgetMs);
    deps.logger.info('due payments settled', { ...report.actions, failed: report.failedMessageIds.length });
    return {
      batchItemFailures: [...unreadable, ...report.failedMessageIds].map((itemIdentifier) => ({ itemIdentifier })),
    };
  });

export const handler = makeHandler(
  awsWiring('expiry-worker', { table: dynamoTable, providers: providersFromEnv, dueQueue }),
);
