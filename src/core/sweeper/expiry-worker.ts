import { providerLookDue } from '../../domain';
import { ProviderBusyError } from '../payments/provider';
import { Metric } from '../kernel/metric-names';
import { type DuePaymentDeps, handleDuePayment, type SweepAction } from './due-payments';
import type { DuePaymentMessage, DuePaymentQueue } from './ports';
import { WorkLanes } from './work-lanes';

/** A provider that said "slow down" is asked again after this long, plus as much again at random (the wave spreads out). */
export const PROVIDER_BUSY_RETRY_SECONDS = 5;

/** One message of a batch, by the id the queue knows it under. */
export interface DueDelivery {
  messageId: string;
  message: DuePaymentMessage;
}

export interface DueBatchReport {
  actions: Partial<Record<SweepAction, number>>;
  /** Messages not settled (an error, or out of time): the queue delivers them again. */
  failedMessageIds: string[];
}

type ExpiryWorkerDeps = DuePaymentDeps & { dueQueue: DuePaymentQueue };

/**
 * The expiry worker: settles a batch of due payments the sweeper found, side by side in a lane per
 * provider (`sweeper.workerConcurrency` each, so one slow provider holds up only its own), until
 * `budgetMs` is spent. Each payment is read afresh and handled only if it is still due: a message
 * delivered twice, or about a payment paid meanwhile, changes nothing (every write is conditional).
 * A provider that says "slow down" gets the message back later, delayed: never lost, never a failure.
 */
export async function settleDuePayments(
  deps: ExpiryWorkerDeps,
  deliveries: readonly DueDelivery[],
  budgetMs: number,
): Promise<DueBatchReport> {
  const report: DueBatchReport = { actions: {}, failedMessageIds: [] };
  const payments = new Map(
    (await deps.repo.getPayments(deliveries.map((delivery) => delivery.message.paymentId))).map((payment) => [
      payment.paymentId,
      payment,
    ]),
  );
  const lanes = new WorkLanes(deps.sweeper.workerConcurrency, performance.now() + budgetMs);
  const settled = new Set<string>();
  const count = (action: SweepAction) => (report.actions[action] = (report.actions[action] ?? 0) + 1);
  for (const delivery of deliveries) {
    const payment = payments.get(delivery.message.paymentId);
    if (!payment) {
      count('skipped'); // never written, or not ours: nothing to settle
      settled.add(delivery.messageId);
      continue;
    }
    const settle = async () => {
      const now = deps.clock.now();
      count(await settleOne(deps, delivery.message, () => handleDuePayment(deps, payment, now)));
      deps.metrics.observe(Metric.ExpiryLagSeconds, lagSeconds(delivery.message, now), 'Seconds');
      settled.add(delivery.messageId);
    };
    // Work that calls no provider (a payment never started) never waits behind a provider's lane.
    lanes.add(providerLookDue(payment, deps.clock.now()) ? payment.method : 'no-provider', {
      dueAt: delivery.message.dueAt,
      run: () =>
        settle().catch((error) =>
          deps.logger.error('expiry worker could not settle a due payment; the queue delivers it again', {
            paymentId: payment.paymentId,
            error: String(error),
          }),
        ),
    });
  }
  await lanes.until(() => lanes.unfinished().length === 0);
  report.failedMessageIds = deliveries.map((d) => d.messageId).filter((id) => !settled.has(id));
  return report;
}

/** One due payment handled; a busy provider sends its message back, delayed. */
async function settleOne(
  deps: ExpiryWorkerDeps,
  message: DuePaymentMessage,
  handle: () => Promise<SweepAction>,
): Promise<SweepAction> {
  try {
    return await handle();
  } catch (error) {
    if (!(error instanceof ProviderBusyError)) throw error;
    const delaySeconds = PROVIDER_BUSY_RETRY_SECONDS + Math.floor(Math.random() * (PROVIDER_BUSY_RETRY_SECONDS + 1));
    await deps.dueQueue.enqueue([message], delaySeconds); // if this fails, the message itself comes back
    deps.metrics.count(Metric.ProviderBusy, 1, { provider: error.provider });
    return 'provider_busy';
  }
}

const lagSeconds = (message: DuePaymentMessage, now: Date) =>
  Math.max(0, Math.round((now.getTime() - Date.parse(message.dueAt)) / 1000));
