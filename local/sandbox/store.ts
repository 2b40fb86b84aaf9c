import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { type BusinessDate, businessDayWindow } from '../../src/domain/bill';
import type { Fen } from '../../src/domain/money';
import type { ProviderName } from '../../src/core/payments/provider';
import type {
  CheckoutStore,
  RefundLedger,
  RefundOpening,
  SandboxCheckout,
  SandboxRefund,
  SandboxRefundOutcome,
} from './types';

/**
 * What the sandbox providers hold: checkouts, and the refunds made on them. One ledger serves the
 * three simulators; each speaks its own wire format over it. In memory: a restart forgets all.
 */

function randomDigits(count: number): string {
  return Array.from({ length: count }, () => randomInt(10)).join('');
}

/** Ids in each provider's own style, fixed when made so every retry of a notification repeats them. */
export const PROVIDER_IDS: Readonly<
  Record<
    ProviderName,
    { transactionId(now: Date): string; notificationId(): string; refundKey(): string; consoleRefundNumber: boolean }
  >
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
  const refunds = new RefundBook(checkouts, options);
  return {
    get: (paymentId) => checkouts.get(paymentId),
    activity: (provider, date) => activity(checkouts, refunds, provider, date),
    put: (checkout) => void checkouts.set(checkout.paymentId, checkout),
    checkoutUrl: (paymentId) => `${publicBaseUrl}/sandbox/checkout/${encodeURIComponent(paymentId)}`,
    refunds,
  };
}

const sum = (refunds: readonly SandboxRefund[]): Fen => refunds.reduce((total, refund) => total + refund.amount, 0);

/** The refunds made on the checkouts, by payment. */
class RefundBook implements RefundLedger {
  readonly outcome: SandboxRefundOutcome;
  private readonly byPayment = new Map<string, SandboxRefund[]>();

  constructor(
    private readonly checkouts: ReadonlyMap<string, SandboxCheckout>,
    private readonly options: CheckoutStoreOptions,
  ) {
    this.outcome = options.refundOutcome ?? 'succeed';
  }

  /** The payment's refunds as held (callers get a copy: list()). */
  of(paymentId: string): SandboxRefund[] {
    return this.byPayment.get(paymentId) ?? [];
  }

  list = (paymentId: string): SandboxRefund[] => [...this.of(paymentId)];

  refundedAmount = (paymentId: string): Fen => sum(this.of(paymentId).filter((refund) => refund.state === 'succeeded'));

  refundableAmount = (paymentId: string): Fen => {
    const checkout = this.checkouts.get(paymentId);
    return checkout?.state === 'paid'
      ? checkout.amount - sum(this.of(paymentId).filter((refund) => refund.state !== 'failed'))
      : 0;
  };

  find = (refundId: string): SandboxRefund | undefined => {
    for (const refunds of this.byPayment.values()) {
      const found = refunds.find((refund) => refund.refundId === refundId);
      if (found) return found;
    }
    return undefined;
  };

  settle = (
    paymentId: string,
    key: string,
    now: Date,
    state?: Exclude<SandboxRefund['state'], 'processing'>,
  ): SandboxRefund => {
    const refunds = this.of(paymentId);
    const index = refunds.findIndex((refund) => refund.key === key);
    const refund = refunds[index];
    const checkout = this.checkouts.get(paymentId);
    if (!refund || !checkout) throw new Error(`no refund ${key} on payment ${paymentId}`);
    if (refund.state !== 'processing') return refund;
    const end = state ?? OUTCOME_STATE[this.outcome];
    const settled: SandboxRefund = {
      ...refund,
      state: end,
      settledAt: now.toISOString(),
      ...(end === 'succeeded' ? { refundedAfter: this.refundedAmount(paymentId) + refund.amount } : {}),
    };
    refunds[index] = settled;
    this.options.onRefundSettled?.(checkout, settled);
    return settled;
  };

  resubmit = (paymentId: string, key: string): SandboxRefund => {
    const refunds = this.of(paymentId);
    const index = refunds.findIndex((refund) => refund.key === key && refund.state === 'abnormal');
    const refund = refunds[index];
    if (!refund) throw new Error(`no abnormal refund ${key} on payment ${paymentId}`);
    const { settledAt: _settledAt, ...open } = refund;
    const reopened: SandboxRefund = {
      ...open,
      state: 'processing',
      notificationId: PROVIDER_IDS.wechat.notificationId(),
    };
    refunds[index] = reopened;
    this.options.defer?.(() => this.settle(paymentId, key, this.options.clock?.() ?? new Date(), 'succeeded'));
    return reopened;
  };

  open = (opening: RefundOpening, now: Date): ReturnType<RefundLedger['open']> => {
    const { paymentId, refundId, amount } = opening;
    const checkout = this.checkouts.get(paymentId);
    if (!checkout) return { result: 'refused', refusal: 'not_found' };
    if (checkout.state !== 'paid') return { result: 'refused', refusal: 'not_paid' };
    const existing = refundId === undefined ? undefined : this.find(refundId);
    if (existing) {
      const same = existing.paymentId === paymentId && existing.amount === amount;
      return same ? { result: 'existing', refund: existing } : { result: 'refused', refusal: 'number_reused' };
    }
    if (amount < 1 || amount > this.refundableAmount(paymentId))
      return { result: 'refused', refusal: 'exceeds_refundable' };
    const refund = this.newRefund(checkout, opening, now);
    this.byPayment.set(paymentId, [...this.of(paymentId), refund]);
    if (opening.settle === 'now') return { result: 'opened', refund: this.settle(paymentId, refund.key, now) };
    if (opening.settle === 'later')
      this.options.defer?.(() => this.settle(paymentId, refund.key, this.options.clock?.() ?? new Date()));
    return { result: 'opened', refund };
  };

  private newRefund(checkout: SandboxCheckout, opening: RefundOpening, now: Date): SandboxRefund {
    const ids = PROVIDER_IDS[checkout.provider];
    const key = ids.refundKey();
    const number = opening.refundId ?? (ids.consoleRefundNumber ? key : undefined);
    return {
      key,
      ...(number === undefined ? {} : { refundId: number }),
      paymentId: opening.paymentId,
      amount: opening.amount,
      ...(opening.reason ? { reason: opening.reason } : {}),
      ...(opening.notifyUrl ? { notifyUrl: opening.notifyUrl } : {}),
      state: 'processing',
      createdAt: now.toISOString(),
      external: opening.external ?? false,
      notify: opening.notify !== false && this.outcome !== 'silent',
      notificationId: ids.notificationId(),
    };
  }
}

/** What goes in one provider's bill of a Beijing day: checkouts paid in it, refunds that ended (or, processing, were made) in it. */
function activity(
  checkouts: ReadonlyMap<string, SandboxCheckout>,
  refunds: RefundBook,
  provider: ProviderName,
  date: BusinessDate,
) {
  const { start, end } = businessDayWindow(date);
  const time = (at: string | undefined) => (at === undefined ? Number.NaN : Date.parse(at));
  const within = (at: string | undefined) => time(at) >= start.getTime() && time(at) < end.getTime();
  const refundTime = (refund: SandboxRefund) => refund.settledAt ?? refund.createdAt;
  const ours = [...checkouts.values()].filter((checkout) => checkout.provider === provider);
  return {
    payments: ours.filter((checkout) => within(checkout.paidAt)).sort((a, b) => time(a.paidAt) - time(b.paidAt)),
    refunds: ours
      .flatMap((checkout) => refunds.of(checkout.paymentId))
      .filter((refund) => within(refundTime(refund)))
      .sort((a, b) => time(refundTime(a)) - time(refundTime(b))),
  };
}
