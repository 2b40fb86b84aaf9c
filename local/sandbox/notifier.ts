import type { Logger } from '../../src/core/kernel/deps';
import type { ProviderName } from '../../src/core/payments/provider';
import type { CallbackDelivery, CallbackFetch, OutboundCallback, ProviderSimulator } from './types';

/** How long the merchant has to answer one callback before the attempt counts as failed. */
const CALLBACK_TIMEOUT_MS = 5000;

/** A notification the provider owes the merchant, rebuilt (signed afresh) at every attempt. */
export interface Notice {
  provider: ProviderName;
  paymentId: string;
  /** Set for a refund's notification. */
  refundKey?: string;
  build(at: Date): OutboundCallback | undefined;
}

export interface NotifierOptions {
  fetch: CallbackFetch;
  /** Delays between attempts; the first attempt is immediate. */
  retryDelaysMs: readonly number[];
  now: () => Date;
  log?: Logger;
  simulatorFor(provider: ProviderName): ProviderSimulator;
}

/**
 * Sends the providers' callbacks and refund notifications to the merchant, retried on the
 * provider's schedule until acknowledged, and keeps every attempt. Its timers keep no process
 * alive; stop() cancels pending retries and waits for attempts under way.
 */
export class Notifier {
  private readonly deliveryLog = new Map<string, CallbackDelivery[]>();
  private readonly refundDeliveryLog = new Map<string, (CallbackDelivery & { refundKey: string })[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly attemptsUnderWay = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly options: NotifierOptions) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Runs `task` after `delayMs` unless the sandbox stops first. */
  later(task: () => void, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Sends a notice in the background; stop() waits for it. */
  send(notice: Notice, attempt: number, fields: Record<string, unknown>): void {
    const underWay = this.deliver(notice, attempt)
      .catch((error: unknown) =>
        this.options.log?.error('sandbox notification crashed', { ...fields, error: describeError(error) }),
      )
      .finally(() => this.attemptsUnderWay.delete(underWay));
    this.attemptsUnderWay.add(underWay);
  }

  /** Whether another attempt follows the given one. */
  hasRetryAfter(attempt: number): boolean {
    return !this.stopped && this.options.retryDelaysMs[attempt - 1] !== undefined;
  }

  /** One attempt, signed afresh (a new timestamp) with the notification id fixed when it was decided. */
  async deliver(notice: Notice, attempt: number): Promise<CallbackDelivery | undefined> {
    const { log, retryDelaysMs } = this.options;
    const at = this.options.now();
    const callback = notice.build(at);
    if (!callback) return undefined;
    const delivery = await this.post(this.options.simulatorFor(notice.provider), callback, attempt, at);
    const { paymentId, refundKey } = notice;
    if (refundKey === undefined)
      this.deliveryLog.set(paymentId, [...(this.deliveryLog.get(paymentId) ?? []), delivery]);
    else
      this.refundDeliveryLog.set(paymentId, [
        ...(this.refundDeliveryLog.get(paymentId) ?? []),
        { ...delivery, refundKey },
      ]);
    const fields = {
      provider: notice.provider,
      paymentId,
      ...(refundKey === undefined ? {} : { refundKey }),
      ...delivery,
    };
    if (delivery.acknowledged) log?.info('sandbox callback acknowledged', fields);
    else if (this.hasRetryAfter(attempt)) {
      log?.warn('sandbox callback not acknowledged; will retry', fields);
      this.later(
        () => this.send(notice, attempt + 1, { paymentId, attempt: attempt + 1 }),
        retryDelaysMs[attempt - 1] ?? 0,
      );
    } else log?.warn('sandbox callback not acknowledged; no retry left', fields);
    return delivery;
  }

  deliveries(paymentId: string): CallbackDelivery[] {
    return [...(this.deliveryLog.get(paymentId) ?? [])];
  }

  refundDeliveries(paymentId: string): (CallbackDelivery & { refundKey: string })[] {
    return [...(this.refundDeliveryLog.get(paymentId) ?? [])];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.attemptsUnderWay]);
  }

  private async post(
    simulator: ProviderSimulator,
    callback: OutboundCallback,
    attempt: number,
    at: Date,
  ): Promise<CallbackDelivery> {
    const base = { attempt, at: at.toISOString() };
    try {
      const response = await this.options.fetch(callback.url, {
        method: 'POST',
        headers: callback.headers,
        body: callback.body,
        // A provider does not follow redirects: a 3xx is simply not an acknowledgement.
        redirect: 'manual',
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      });
      const body = await response.text();
      return { ...base, statusCode: response.status, acknowledged: simulator.isAcknowledged(response.status, body) };
    } catch (error) {
      return { ...base, error: describeError(error), acknowledged: false };
    }
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}
