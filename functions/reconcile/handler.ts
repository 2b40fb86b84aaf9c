import type { ScheduledEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { reconciliationFromEnv } from '../../src/aws/env';
import { retryFailedHeals } from '../../src/core/reconciliation/heal-retries';
import { pastCutoff, reconcileDay, scheduledRun } from '../../src/core/reconciliation/reconciliation';
import { PAYMENT_METHODS } from '../../src/domain/payment';
import { lambdaHandler, type Wiring } from '../../src/runtime/wiring';
import { BusinessDateSchema } from '../../src/http/schemas';

/** A person's run of one day (`aws lambda invoke`, or `npm run reconcile` locally): every provider asked, reconciled or not. */
export const ManualRun = z.strictObject({
  date: BusinessDateSchema,
  providers: z.optional(z.array(z.enum(PAYMENT_METHODS)).check(z.minLength(1))),
});
export type ManualRun = z.infer<typeof ManualRun>;

/** The hourly retry of differences whose heal failed (its own schedule): their days are run again. */
export interface HealRetry {
  retryHeals: true;
}

/**
 * Invoked hourly from 10:30 to 18:30 Beijing time by an EventBridge schedule (yesterday's bills,
 * until each provider's is in), hourly with `{"retryHeals": true}` (days whose heals failed), or by
 * a person with `{"date": "YYYY-MM-DD", "providers"?: [...]}`.
 */
export const makeHandler = (wiring: Wiring) =>
  lambdaHandler(wiring, async (event: ScheduledEvent | ManualRun | HealRetry) => {
    const deps = await wiring.deps();
    const timing = reconciliationFromEnv();
    if ('retryHeals' in event) return retryFailedHeals(deps, timing);
    if (!('date' in event)) return reconcileDay(deps, scheduledRun(deps.clock.now(), timing));
    const run = ManualRun.parse(event);
    const final = pastCutoff(run.date, deps.clock.now(), timing);
    return reconcileDay(deps, { date: run.date, providers: run.providers, final, carryMinutes: timing.carryMinutes });
  });

export const handler = makeHandler(awsWiring('reconcile', { table: dynamoTable, providers: providersFromEnv }));
