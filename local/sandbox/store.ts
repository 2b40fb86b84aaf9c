import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { type BusinessDate, businessDayWindow } from '../../src/domain/bill';
import type { Fen } from '../../src/domain/money';
import type { ProviderName } from '../../src/core/payments/provider';
import type { CheckoutStore, RefundLedger, RefundOpening, SandboxCheckout, SandboxRefund, SandboxRefundOutcome } from './types';

/**
 * What the sandbox providers hold: checkouts, and the refunds made on them. One ledger serves the
 * three simulators; each speaks its own wire format over it. In memory: a restart forgets all.
 */

function randomDigits(count: number): string {
  return Array.from({ length: count }, () => randomInt(10)).join('');
}

/** Ids in each provider's own style, fixed when made so every retry of a notification repeats them. */
export const PROVIDER_IDS: Readonly<
  Record<ProviderName, { transactionId(now: Date): string; notificationId(): string; refundKey(): string; consoleRefundNumber: boolean }>
> = {
  // A refund made on WeChat's merchant platform gets an out_refund_no there: its refund_id stands in.
  wechat: {
    transactionId: () => `4200${randomDigits(24)}`,
    notificationId: () => randomUUID(),
    refundKey: () => `50${randomDigits(27)}`,
    consoleRefundNumber: true,
  },
  // Alipay has no refund id on the wire; a console refund carries no out_biz_no.
  alipay: {
    transactionId: (now) => `${now.toISOString().slice(0, 10).replaceAll('-', '')}${randomDigits(20)}`,
    notificationId: () => randomBytes(16).toString('hex'),
    refundKey: () => `alipay_refund_${randomBytes(8).toString('hex')}`,
    consoleRefundNumber: false,
  },
  bank: {
    transactionId: () => `txn_${randomBytes(12).toString('hex')}`,
    notificationId: () => `evt_${randomBytes(12).toString('hex')}`,
    refundKey: () => `re_${randomBytes(12).toString('hex')}`,
    consoleRefundNumber: true,
  },
};

const OUTCOME_STATE: Readonly<Record<SandboxRefundOutcome, Exclude<SandboxRefund['state'], 'processing'>>> = {
  succeed: 'succeeded',
  silent: 'succeeded',
  fail: 'failed',
  abnormal: 'abnormal',
};

export interface CheckoutStoreOptions {
  publicBaseUrl: string;
  /** SANDBOX_REFUND_OUTCOME; `succeed` when not given. */
  refundOutcome?: SandboxRefundOutcome;
  clock?: () => Date;
  /** Runs a refund's deferred end a little later; without it such refunds stay processing until `settle` is called. */
  defer?: (task: () => void) => void;
  /** A refund has ended (the provider notifies when `refund.notify`). */
  onRefundSettled?: (checkout: SandboxCheckout, refund: SandboxRefund) => void;
}

export function createCheckoutStore(options: CheckoutStoreOptions): CheckoutStore {
  const publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
  const checkouts = new Map<string, SandboxCheckout>();
  const refundsByPayment = new Map<string, SandboxRefund[]>();
  const outcome = options.refundOutcome ?? 'succeed';

  const list = (paymentId: string): SandboxRefund[] => refundsByPayment.get(paymentId) ?? [];
  const sum = (refunds: readonly SandboxRefund[]): Fen => refunds.reduce((total, refund) => total + refund.amount, 0);
  const refundedAmount = (paymentId: string) => sum(list(paymentId).filter((refund) => refund.state === 'succeeded'));
  const refundableAmount = (paymentId: string) => {
    const checkout = checkouts.get(paymentId);
    return checkout?.state === 'paid' ? checkout.amount - sum(list(paymentId).filter((refund) => refund.state !== 'failed')) : 0;
  };

  function find(refundId: string): SandboxRefund | undefined {
    for (const refunds of refundsByPayment.values()) {
      const found = refunds.find((refund) => refund.refundId === refundId);
      if (found) return found;
    }
    return undefined;
  }

  function settle(paymentId: string, key: string, now: Date, state?: Exclude<SandboxRefund['state'], 'processing'>): SandboxRefund {
    const refunds = list(paymentId);
    const index = refunds.findIndex((refund) => refund.key === key);
    const refund = refunds[index];
    const checkout = checkouts.get(paymentId);
    if (!refund || !checkout) throw new Error(`no refund ${key} on payment ${paymentId}`);
    if (refund.state !== 'processing') return refund;
    const end = state ?? OUTCOME_STATE[outcome];
    const settled: SandboxRefund = {
      ...refund,
      state: end,
      settledAt: now.toISOString(),
      ...(end === 'succeeded' ? { refundedAfter: refundedAmount(paymentId) + refund.amount } : {}),
    };
    refunds[index] = settled;
    options.onRefundSettled?.(checkout, settled);
    return settled;
  }

  function open(opening: RefundOpening, now: Date): ReturnType<RefundLedger['open']> {
    const { paymentId, refundId, amount } = opening;
    const checkout = checkouts.get(paymentId);
    if (!checkout) return { result: 'refused', refusal: 'not_found' };
    if (checkout.state !== 'paid') return { result: 'refused', refusal: 'not_paid' };
    const existing = refundId === undefined ? undefined : find(refundId);
    if (existing) {
      const same = existing.paymentId === paymentId && existing.amount === amount;
      return same ? { result: 'existing', refund: existing } : { result: 'refused', refusal: 'number_reused' };
    }
    if (amount < 1 || amount > refundableAmount(paymentId)) return { result: 'refused', refusal: 'exceeds_refundable' };

    const ids = PROVIDER_IDS[checkout.provider];
    const key = ids.refundKey();
    const number = refundId ?? (ids.consoleRefundNumber ? key : undefined);
    const refund: SandboxRefund = {
      key,
      ...(number === undefined ? {} : { refundId: number }),
      paymentId,
      amount,
      ...(opening.reason ? { reason: opening.reason } : {}),
      ...(opening.notifyUrl ? { notifyUrl: opening.notifyUrl } : {}),
      state: 'processing',
      createdAt: now.toISOString(),
      external: opening.external ?? false,
      notify: opening.notify !== false && outcome !== 'silent',
      notificationId: ids.notificationId(),
    };
    refundsByPayment.set(paymentId, [...list(paymentId), refund]);
    if (opening.settle === 'now') return { result: 'opened', refund: settle(paymentId, key, now) };
    if (opening.settle === 'later') options.defer?.(() => settle(paymentId, key, options.clock?.() ?? new Date()));
    return { result: 'opened', refund };
  }

  function activity(provider: ProviderName, date: BusinessDate): ReturnType<CheckoutStore['activity']> {
    const { start, end } = businessDayWindow(date);
    const time = (at: string | undefined) => (at === undefined ? Number.NaN : Date.parse(at));
    const within = (at: string | undefined) => time(at) >= start.getTime() && time(at) < end.getTime();
    const refundTime = (refund: SandboxRefund) => refund.settledAt ?? refund.createdAt;
    const ours = [...checkouts.values()].filter((checkout) => checkout.provider === provider);
    return {
      payments: ours.filter((checkout) => within(checkout.paidAt)).sort((a, b) => time(a.paidAt) - time(b.paidAt)),
      refunds: ours
        .flatMap((checkout) => list(checkout.paymentId))
        .filter((refund) => within(refundTime(refund)))
        .sort((a, b) => time(refundTime(a)) - time(refundTime(b))),
    };
  }

  return {
    get: (paymentId) => checkouts.get(paymentId),
    activity,
    put: (checkout) => void checkouts.set(checkout.paymentId, checkout),
    checkoutUrl: (paymentId) => `${publicBaseUrl}/sandbox/checkout/${encodeURIComponent(paymentId)}`,
    refunds: {
      outcome,
      list: (paymentId) => [...list(paymentId)],
      find,
      refundedAmount,
      refundableAmount,
      open,
      settle,
    },
  };
}
