import type { Deps } from '../../src/core/kernel/deps';
import { settleDuePayments } from '../../src/core/sweeper/expiry-worker';
import type { DuePaymentMessage, DuePaymentQueue } from '../../src/core/sweeper/ports';
import { sweep, type SweepReport } from '../../src/core/sweeper/sweeper';

/** Keeps what would go to the due-payment queue, with its delay, for tests of the sweeper and the worker without SQS. */
export class CollectingDueQueue implements DuePaymentQueue {
  readonly sent: Array<{ message: DuePaymentMessage; delaySeconds: number }> = [];
  async enqueue(messages: readonly DuePaymentMessage[], delaySeconds = 0): Promise<void> {
    this.sent.push(...messages.map((message) => ({ message, delaySeconds })));
  }
  /** Takes every message sent so far, as the worker would receive them. */
  take(): Array<{ messageId: string; message: DuePaymentMessage }> {
    return this.sent.splice(0).map(({ message }, index) => ({ messageId: `msg-${index}`, message }));
  }
}

/**
 * One sweeper run and one expiry-worker pass over what it enqueued, as one report: what the
 * worker did in place of `enqueued`; out of time when either was, the lag counting messages left.
 * The SQS hop itself is tested on fauxqs (test/integration/expiry-wave.test.ts).
 */
export async function sweepAndSettle(
  deps: Deps,
  runSweeper: (deps: Deps) => Promise<SweepReport> = sweep,
): Promise<SweepReport> {
  const queue = new CollectingDueQueue();
  const withQueue = { ...deps, dueQueue: queue };
  const swept = await runSweeper(withQueue);
  const deliveries = queue.take();
  const settled = await settleDuePayments(withQueue, deliveries, deps.sweeper.budgetMs);
  const { enqueued: _enqueued, ...others } = swept.actions;
  const actions: SweepReport['actions'] = { ...others };
  for (const [action, count] of Object.entries(settled.actions) as Array<[keyof SweepReport['actions'], number]>)
    actions[action] = (actions[action] ?? 0) + count;
  const failed = new Set(settled.failedMessageIds);
  const left = deliveries.filter(({ messageId }) => failed.has(messageId)).map(({ message }) => message.dueAt);
  const now = deps.clock.now().getTime();
  const lagOfLeft = left.map((dueAt) => Math.round((now - Date.parse(dueAt)) / 1000));
  return {
    handled: Object.values(actions).reduce((sum, count) => sum + count, 0),
    actions,
    budgetExhausted: swept.budgetExhausted || left.length > 0,
    lagSeconds: Math.max(swept.lagSeconds, ...lagOfLeft),
  };
}
