import type { Deps } from './deps';
import { Metric } from './metric-names';

/**
 * The dashboard's "payments in flight": open (init or processing) payments, counted once per
 * sweeper run. A failed count is only logged: it must not fail the run whose work is done.
 */
export async function recordPaymentsInFlight(deps: Deps): Promise<void> {
  try {
    deps.metrics.observe(Metric.PaymentsInFlight, await deps.repo.countOpenPayments(), 'Count');
  } catch (error) {
    deps.logger.warn('payments in flight not counted', { error: String(error) });
  }
}
