import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderBusyError, type PaymentProvider } from '../../core/payments/provider';

/**
 * A token bucket: `perSecond` calls a second on average, bursts of at most `perSecond`. A call
 * waits for its turn up to `maxWaitMs`; a turn further off than that is refused, nothing taken.
 */
export class CallRate {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly perSecond: number,
    private readonly maxWaitMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.tokens = perSecond;
    this.lastMs = nowMs();
  }

  /** True once the call may go (after waiting its turn); false when its turn is more than maxWaitMs off. */
  async take(): Promise<boolean> {
    const now = this.nowMs();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.lastMs) * this.perSecond) / 1000);
    this.lastMs = now;
    const waitMs = this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.perSecond;
    if (waitMs > this.maxWaitMs) return false;
    this.tokens -= 1; // reserved: a later caller waits behind this one
    if (waitMs > 0) await sleep(waitMs);
    return true;
  }
}

/** How long a background call waits for its turn before it is handed back to be tried later. */
export const CALL_RATE_MAX_WAIT_MS = 2_000;

/**
 * The provider with its background calls (payment query and close: the expiry wave's) held to
 * `perSecond` for its merchant; past it, ProviderBusyError. A customer's checkout and refunds
 * are not held: the rate is set below the merchant's limit so that they keep their room.
 */
export function withCallRate(provider: PaymentProvider, perSecond: number): PaymentProvider {
  const rate = new CallRate(perSecond, CALL_RATE_MAX_WAIT_MS);
  const held =
    <Args extends unknown[], Result>(operation: string, call: (...args: Args) => Promise<Result>) =>
    async (...args: Args): Promise<Result> => {
      if (!(await rate.take()))
        throw new ProviderBusyError(provider.name, operation, `over this merchant's ${perSecond} calls/s`);
      return call(...args);
    };
  const { queryPayment, closePayment } = provider;
  return {
    ...provider,
    ...(queryPayment ? { queryPayment: held('queryPayment', queryPayment) } : {}),
    ...(closePayment ? { closePayment: held('closePayment', closePayment) } : {}),
  };
}
