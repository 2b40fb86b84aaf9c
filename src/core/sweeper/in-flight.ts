import type { Uses } from '../kernel/deps';
import type { PaymentStore } from '../payments/ports';
import type { RefundStore } from '../refunds/ports';
import { Metric } from '../kernel/metric-names';

/** An open refund older than this is stuck (alarmed): most refunds end in minutes, a bank's in days. */
export const REFUND_STUCK_SECONDS = 24 * 60 * 60;

/**
 * Once per sweeper run, the open work as gauges: "payments in flight" (open, init or processing,
 * payments) and the age of the oldest open refund (0 when none is open; the stuck-refund alarm
 * watches it). A failed reading is only logged: it must not fail the run whose work is done.
 */
export async function recordPaymentsInFlight(
  deps: Uses<PaymentStore & RefundStore, 'metrics' | 'logger'>,
  now: Date,
): Promise<void> {
  try {
    deps.metrics.observe(Metric.PaymentsInFlight, await deps.repo.countOpenPayments(), 'Count');
    deps.metrics.observe(
      Metric.OldestOpenRefundAgeSeconds,
      await oldestOpenRefundAgeSeconds(deps.repo, now),
      'Seconds',
    );
  } catch (error) {
    deps.logger.warn('open work not counted', { error: String(error) });
  }
}

/** How long the oldest open refund has been open, in seconds; 0 when none is. */
export async function oldestOpenRefundAgeSeconds(repo: RefundStore, now: Date): Promise<number> {
  const oldest = await repo.oldestOpenRefundCreatedAt();
  return oldest ? Math.max(0, Math.round((now.getTime() - Date.parse(oldest)) / 1000)) : 0;
}
