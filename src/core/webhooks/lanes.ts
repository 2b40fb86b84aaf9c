import { setTimeout as sleep } from 'node:timers/promises';
import type { Uses } from '../kernel/deps';
import { Metric } from '../kernel/metric-names';
import type { WebhookStore } from './ports';

/** How often a waiting event looks again whether the one before it has finished its first attempt. */
const POLL_MS = 100;
/** Past the attempt timeout, how much longer an event waits for a stuck predecessor before it goes anyway. */
const STUCK_GRACE_MS = 2_000;

/**
 * Holds an event until its turn in its lane (one endpoint, one order): first until
 * `orderHoldMs` after it happened, so that an earlier event of its order that travelled the bus
 * beside it has been recorded; then until every earlier event of the lane has finished its first
 * attempt, whatever the outcome (a failure does not hold the next one back). A predecessor that
 * takes longer than one attempt can (its deliverer died) is not waited for: the event goes, and
 * that is counted. Answers whether the event got its turn.
 */
export async function awaitTurn(
  deps: Uses<WebhookStore, 'clock' | 'webhooks' | 'metrics'>,
  delivery: { lane: string; position: string; occurredAt: string },
): Promise<boolean> {
  const { orderHoldMs, timeoutMs } = deps.webhooks;
  const hold = Date.parse(delivery.occurredAt) + orderHoldMs - deps.clock.now().getTime();
  if (hold > 0) await sleep(Math.min(hold, orderHoldMs));
  const polls = Math.ceil((timeoutMs + STUCK_GRACE_MS) / POLL_MS);
  for (let poll = 0; poll < polls; poll++) {
    if (!(await deps.repo.hasUnfinishedPredecessor(delivery.lane, delivery.position))) return true;
    await sleep(POLL_MS);
  }
  deps.metrics.count(Metric.WebhookOrderWaitExpired);
  return false;
}
