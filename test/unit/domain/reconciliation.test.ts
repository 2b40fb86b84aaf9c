import { describe, expect, it } from 'vitest';
import { beijingTimeToIso, type BillPayment, type BillRefund, type BillRow } from '../../../src/domain/bill';
import type { Payment, PaymentMethod } from '../../../src/domain/payment';
import {
  compareBill,
  type Comparison,
  DEFAULT_CARRY_MINUTES,
  differenceEvent,
  differenceKey,
  type LedgerKey,
} from '../../../src/domain/reconciliation';
import { createRefund, type Refund, type RefundStatus } from '../../../src/domain/refund';
import { newPayment } from '../../support/domain-fixtures';

/** The bill's day, 2026-11-27 Beijing: 2026-11-26T16:00Z to 2026-11-27T16:00Z. */
const DATE = '2026-11-27';
const beijing = (time: string, date = DATE) => beijingTimeToIso(`${date} ${time}`);

/** A WeChat payment we hold as succeeded at 10:00 Beijing, for 10.00 yuan. */
function paid(paymentId: string, overrides: Partial<Payment> = {}): Payment {
  return {
    ...newPayment({ paymentId, orderId: `ord_${paymentId}`, now: new Date(beijing('09:50:00')), amount: 1_000 }),
    status: 'succeeded',
    providerTransactionId: `tx_${paymentId}`,
    paidAt: beijing('10:00:00'),
    ...overrides,
  };
}

/** A refund of ours of `payment`, 3.00 yuan, succeeded at 11:00 Beijing unless told otherwise. */
function refundOf(refundId: string, payment: Payment, overrides: Partial<Refund> = {}): Refund {
  const created = createRefund({
    refundId,
    payment,
    amount: 300,
    origin: 'admin',
    sendAt: beijing('10:30:00'),
    now: new Date(beijing('10:30:00')),
  });
  return { ...created, status: 'succeeded', succeededAt: beijing('11:00:00'), ...overrides };
}

const paymentRow = (payment: Payment, overrides: Partial<BillPayment> = {}): BillPayment => ({
  kind: 'payment',
  paymentId: payment.paymentId,
  providerTransactionId: payment.providerTransactionId ?? `tx_${payment.paymentId}`,
  amount: payment.amount,
  status: 'succeeded',
  finishedAt: payment.paidAt ?? beijing('10:00:00'),
  providerStatus: 'SUCCESS',
  ...overrides,
});

const refundRow = (
  refund: Pick<Refund, 'refundId' | 'paymentId' | 'amount'>,
  overrides: Partial<BillRefund> = {},
): BillRefund => ({
  kind: 'refund',
  refundId: refund.refundId,
  paymentId: refund.paymentId,
  providerTransactionId: `tx_${refund.paymentId}`,
  providerRefundId: `re_${refund.refundId}`,
  amount: refund.amount,
  status: 'succeeded',
  finishedAt: beijing('11:00:00'),
  providerStatus: 'SUCCESS',
  ...overrides,
});

interface Scenario {
  rows: BillRow[];
  /** The day's ledger (and what the day before carried in). */
  ledger?: Payment[];
  ledgerRefunds?: Refund[];
  /** Items of other days that bill rows name. */
  known?: Payment[];
  knownRefunds?: Refund[];
  accountedHere?: LedgerKey[];
  provider?: PaymentMethod;
}

/** compareBill with its lookups built the way the core builds them: every payment and refund by id, refunds by payment. */
function compare({
  rows,
  ledger = [],
  ledgerRefunds = [],
  known = [],
  knownRefunds = [],
  accountedHere = [],
  provider = 'wechat',
}: Scenario): Comparison {
  const payments = [...ledger, ...known];
  const refunds = [...ledgerRefunds, ...knownRefunds];
  const sum = (kind: BillRow['kind']) =>
    rows.filter((row) => row.kind === kind).reduce((total, row) => total + row.amount, 0);
  return compareBill({
    bill: {
      provider,
      date: DATE,
      rows,
      totals: {
        paymentCount: rows.filter((row) => row.kind === 'payment').length,
        paymentAmount: sum('payment'),
        refundAmount: sum('refund'),
      },
    },
    ledgerPayments: ledger,
    ledgerRefunds,
    paymentsById: new Map(payments.map((payment) => [payment.paymentId, payment])),
    refundsById: new Map(refunds.map((refund) => [refund.refundId, refund])),
    refundsOfPayment: new Map(
      payments.map((payment) => [
        payment.paymentId,
        refunds.filter((refund) => refund.paymentId === payment.paymentId),
      ]),
    ),
    accountedHere: new Set(accountedHere),
    carryMinutes: DEFAULT_CARRY_MINUTES,
  });
}

const kinds = (comparison: Comparison) => comparison.found.map(({ difference }) => difference.kind);

describe('compareBill: a day that agrees', () => {
  it('matches every row, finds nothing, carries nothing, accounts for nothing outside the day', () => {
    const a = paid('pay_a');
    const b = paid('pay_b', { amount: 4_550, paidAt: beijing('00:00:00') });
    const refund = refundOf('ref_a', a);

    const comparison = compare({
      rows: [paymentRow(a), paymentRow(b), refundRow(refund)],
      ledger: [a, b],
      ledgerRefunds: [refund],
    });

    expect(comparison).toEqual({ matched: 3, found: [], carried: [], accountedElsewhere: [] });
  });

  it('an empty bill and an empty ledger agree', () => {
    expect(compare({ rows: [] })).toEqual({ matched: 0, found: [], carried: [], accountedElsewhere: [] });
  });
});

describe('compareBill: payments', () => {
  it('missing_in_ledger: a payment we hold as processing (a lost callback) is confirmed with the provider', () => {
    const lost = paid('pay_lost', { status: 'processing', paidAt: undefined, providerTransactionId: undefined });
    const row = paymentRow(lost, { providerTransactionId: 'tx_real', finishedAt: beijing('12:00:00') });

    const comparison = compare({ rows: [row], known: [lost] });

    expect(comparison.matched).toBe(0);
    expect(comparison.found).toEqual([
      {
        difference: {
          kind: 'missing_in_ledger',
          paymentId: 'pay_lost',
          providerTransactionId: 'tx_real',
          ours: { status: 'processing', amount: 1_000 },
          theirs: { status: 'SUCCESS', amount: 1_000 },
          healed: false,
        },
        remedy: { action: 'confirm_payment', row },
      },
    ]);
    // Not on any ledger yet: the core marks the day healing puts it on, once healed.
    expect(comparison.accountedElsewhere).toEqual([]);
  });

  it('missing_in_ledger: a payment we never had has no remedy and says so', () => {
    const stranger = paid('pay_stranger');
    const comparison = compare({ rows: [paymentRow(stranger)] });
    expect(comparison.found).toEqual([
      {
        difference: {
          kind: 'missing_in_ledger',
          paymentId: 'pay_stranger',
          providerTransactionId: 'tx_pay_stranger',
          theirs: { status: 'SUCCESS', amount: 1_000 },
          healed: false,
          resolution: 'no wechat payment pay_stranger in the ledger',
        },
      },
    ]);
    expect(comparison.accountedElsewhere).toEqual([]);
  });

  it("missing_in_ledger: a payment of another provider is not this provider's, and is not confirmed with it", () => {
    const alipay = paid('pay_alipay', { method: 'alipay' });
    const comparison = compare({ rows: [paymentRow(alipay)], known: [alipay] });
    expect(comparison.found).toEqual([
      {
        difference: expect.objectContaining({
          kind: 'missing_in_ledger',
          paymentId: 'pay_alipay',
          resolution: 'no wechat payment pay_alipay in the ledger',
        }),
      },
    ]);
    expect(comparison.found[0]?.difference.ours).toBeUndefined();
  });

  it('missing_in_ledger: a second capture of a succeeded payment under another transaction is confirmed (money taken twice)', () => {
    const payment = paid('pay_twice');
    const second = paymentRow(payment, { providerTransactionId: 'tx_second', finishedAt: beijing('10:05:00') });
    const comparison = compare({ rows: [paymentRow(payment), second], ledger: [payment] });
    expect(comparison.matched).toBe(1);
    expect(comparison.found).toEqual([
      {
        difference: expect.objectContaining({
          kind: 'missing_in_ledger',
          paymentId: 'pay_twice',
          providerTransactionId: 'tx_second',
        }),
        remedy: { action: 'confirm_payment', row: second },
      },
    ]);
  });

  it('an extra capture we recorded matches its own row, by its own transaction and amount', () => {
    const payment = paid('pay_extra', {
      extraCaptures: [{ providerTransactionId: 'tx_extra', amount: 1_000, capturedAt: beijing('10:05:00') }],
    });
    const comparison = compare({
      rows: [paymentRow(payment), paymentRow(payment, { providerTransactionId: 'tx_extra' })],
      ledger: [payment],
    });
    expect(comparison).toEqual({ matched: 2, found: [], carried: [], accountedElsewhere: [] });
  });

  it('amount_mismatch: the provider took another amount than we hold', () => {
    const payment = paid('pay_amount');
    const comparison = compare({ rows: [paymentRow(payment, { amount: 999 })], ledger: [payment] });
    expect(comparison.found).toEqual([
      {
        difference: {
          kind: 'amount_mismatch',
          paymentId: 'pay_amount',
          providerTransactionId: 'tx_pay_amount',
          ours: { status: 'succeeded', amount: 1_000 },
          theirs: { status: 'SUCCESS', amount: 999 },
          healed: false,
        },
      },
    ]);
  });

  it("amount_mismatch on an extra capture names the capture's amount, not the payment's", () => {
    const payment = paid('pay_extra', {
      extraCaptures: [{ providerTransactionId: 'tx_extra', amount: 1_000, capturedAt: beijing('10:05:00') }],
    });
    const comparison = compare({
      rows: [paymentRow(payment), paymentRow(payment, { providerTransactionId: 'tx_extra', amount: 800 })],
      ledger: [payment],
    });
    expect(comparison.matched).toBe(1);
    expect(comparison.found.map(({ difference }) => difference)).toEqual([
      expect.objectContaining({
        kind: 'amount_mismatch',
        providerTransactionId: 'tx_extra',
        ours: { status: 'succeeded', amount: 1_000 },
        theirs: expect.objectContaining({ amount: 800 }),
      }),
    ]);
  });

  it('status_mismatch: a row reversed by the provider (REVOKED) for a payment we hold as succeeded', () => {
    const payment = paid('pay_revoked');
    const comparison = compare({
      rows: [paymentRow(payment, { status: 'reversed', providerStatus: 'REVOKED' })],
      ledger: [payment],
    });
    expect(comparison.found).toEqual([
      {
        difference: {
          kind: 'status_mismatch',
          paymentId: 'pay_revoked',
          providerTransactionId: 'tx_pay_revoked',
          ours: { status: 'succeeded', amount: 1_000 },
          theirs: { status: 'REVOKED', amount: 1_000 },
          healed: false,
        },
      },
    ]);
  });

  it('a reversed row for a payment we never took money for agrees (it ended at neither side)', () => {
    const closed = paid('pay_closed', { status: 'cancelled', paidAt: undefined, providerTransactionId: undefined });
    const comparison = compare({
      rows: [paymentRow(closed, { status: 'reversed', providerStatus: 'REVOKED' })],
      known: [closed],
    });
    expect(comparison).toEqual({ matched: 1, found: [], carried: [], accountedElsewhere: [] });
  });

  it('a reversed row for a payment we never had agrees too: no money moved, nothing to chase', () => {
    const stranger = paid('pay_stranger');
    const comparison = compare({ rows: [paymentRow(stranger, { status: 'reversed', providerStatus: 'REVOKED' })] });
    expect(comparison).toEqual({ matched: 1, found: [], carried: [], accountedElsewhere: [] });
  });

  it('missing_in_bill: a payment of the day the provider does not show', () => {
    const payment = paid('pay_unbilled', { paidAt: beijing('23:30:00') });
    const comparison = compare({ rows: [], ledger: [payment] });
    expect(comparison.found).toEqual([
      {
        difference: {
          kind: 'missing_in_bill',
          paymentId: 'pay_unbilled',
          providerTransactionId: 'tx_pay_unbilled',
          ours: { status: 'succeeded', amount: 1_000 },
          healed: false,
        },
      },
    ]);
    expect(comparison.carried).toEqual([]);
  });
});

describe('compareBill: refunds', () => {
  const payment = paid('pay_r');

  it('refund_missing_in_ledger: a refund made on the console is recorded as an external refund', () => {
    const row = refundRow(
      { refundId: 're_console', paymentId: 'pay_r', amount: 200 },
      { providerRefundId: 're_console' },
    );
    const comparison = compare({ rows: [row], known: [payment] });
    expect(comparison.found).toEqual([
      {
        difference: {
          kind: 'refund_missing_in_ledger',
          paymentId: 'pay_r',
          refundId: 're_console',
          providerTransactionId: 'tx_pay_r',
          theirs: { status: 'SUCCESS', amount: 200 },
          healed: false,
        },
        remedy: { action: 'record_external_refund', row },
      },
    ]);
    expect(comparison.accountedElsewhere).toEqual([]);
  });

  it.each([
    ['still processing at the provider', 'processing' as const, [payment], "the provider's refund is PROCESSING"],
    ['of a payment we never had', 'succeeded' as const, [], 'no wechat payment pay_r in the ledger'],
    ['of a payment of another provider', 'succeeded' as const, [{ ...payment, method: 'bank' as const }], undefined],
  ])('refund_missing_in_ledger with no remedy: a console refund %s', (_case, status, known, resolution) => {
    const row = refundRow(
      { refundId: 're_console', paymentId: 'pay_r', amount: 200 },
      { status, providerStatus: status.toUpperCase() },
    );
    const comparison = compare({ rows: [row], known });
    expect(kinds(comparison)).toEqual(['refund_missing_in_ledger']);
    expect(comparison.found[0]?.remedy).toBeUndefined();
    if (resolution) expect(comparison.found[0]?.difference.resolution).toBe(resolution);
  });

  it('a console refund that failed at the provider moved no money: nothing to record', () => {
    const row = refundRow(
      { refundId: 're_console', paymentId: 'pay_r', amount: 200 },
      { status: 'failed', providerStatus: 'ABNORMAL' },
    );
    expect(compare({ rows: [row], known: [payment] })).toEqual({
      matched: 1,
      found: [],
      carried: [],
      accountedElsewhere: [],
    });
  });

  it('refund_missing_in_bill: a refund of ours that succeeded in the day and the provider does not show', () => {
    const refund = refundOf('ref_unbilled', payment);
    const comparison = compare({ rows: [paymentRow(payment)], ledger: [payment], ledgerRefunds: [refund] });
    expect(comparison.found).toEqual([
      {
        difference: {
          kind: 'refund_missing_in_bill',
          paymentId: 'pay_r',
          refundId: 'ref_unbilled',
          ours: { status: 'succeeded', amount: 300 },
          healed: false,
        },
      },
    ]);
  });

  it('amount_mismatch: the provider refunded another amount than we hold', () => {
    const refund = refundOf('ref_amount', payment);
    const comparison = compare({
      rows: [refundRow(refund, { amount: 301 })],
      known: [payment],
      ledgerRefunds: [refund],
    });
    expect(comparison.found.map(({ difference }) => difference)).toEqual([
      expect.objectContaining({
        kind: 'amount_mismatch',
        refundId: 'ref_amount',
        ours: { status: 'succeeded', amount: 300 },
        theirs: { status: 'SUCCESS', amount: 301 },
      }),
    ]);
  });

  // The REFUND_AGREEMENT table, row by row: the bill's status against ours.
  const AGREEMENT: Array<[BillRefund['status'], RefundStatus, 'match' | 'mismatch' | 'confirm']> = [
    ['succeeded', 'pending', 'confirm'],
    ['succeeded', 'processing', 'confirm'],
    ['succeeded', 'abnormal', 'confirm'],
    ['succeeded', 'succeeded', 'match'],
    ['succeeded', 'failed', 'mismatch'],
    ['processing', 'pending', 'match'],
    ['processing', 'processing', 'match'],
    ['processing', 'abnormal', 'match'],
    ['processing', 'succeeded', 'match'],
    ['processing', 'failed', 'mismatch'],
    ['failed', 'pending', 'match'],
    ['failed', 'processing', 'match'],
    ['failed', 'abnormal', 'match'],
    ['failed', 'succeeded', 'mismatch'],
    ['failed', 'failed', 'match'],
  ];

  it.each(AGREEMENT)('the bill says %s, we say %s: %s', (theirs, ours, agreement) => {
    const refund = refundOf('ref_t', payment, {
      status: ours,
      ...(ours === 'succeeded' ? {} : { succeededAt: undefined }),
    });
    const row = refundRow(refund, { status: theirs, providerStatus: theirs.toUpperCase() });
    const comparison = compare({
      rows: [row],
      known: [payment],
      knownRefunds: [refund],
      ledgerRefunds: ours === 'succeeded' ? [refund] : [],
    });

    if (agreement === 'match') {
      expect(comparison).toMatchObject({ matched: 1, found: [] });
      return;
    }
    expect(comparison.matched).toBe(0);
    expect(comparison.found).toEqual([
      {
        difference: {
          kind: 'status_mismatch',
          paymentId: 'pay_r',
          refundId: 'ref_t',
          providerTransactionId: 'tx_pay_r',
          ours: { status: ours, amount: 300 },
          theirs: { status: theirs.toUpperCase(), amount: 300 },
          healed: false,
        },
        ...(agreement === 'confirm' ? { remedy: { action: 'confirm_refund', row, refund } } : {}),
      },
    ]);
  });

  it('the table covers every pair of statuses', () => {
    expect(new Set(AGREEMENT.map(([theirs, ours]) => `${theirs}/${ours}`)).size).toBe(3 * 5);
  });
});

describe('compareBill: external refunds recorded under our own id', () => {
  const payment = paid('pay_x');
  /** A console refund recorded from its notification: `ext_…`, not the number the bill shows. */
  const recorded = (providerRefundId: string, amount = 200): Refund => ({
    ...refundOf(`ext_wechat_${providerRefundId}`, payment, { amount, origin: 'external', external: true }),
    providerRefundId,
  });

  it("is matched by the provider's number in its id, not by the first of the same amount", () => {
    const comparison = compare({
      rows: [refundRow({ refundId: 're_1', paymentId: 'pay_x', amount: 200 }, { providerRefundId: 're_1' })],
      known: [payment],
      ledgerRefunds: [recorded('re_9'), recorded('re_1')],
    });
    expect(comparison.matched).toBe(1);
    expect(comparison.found.map(({ difference }) => [difference.kind, difference.refundId])).toEqual([
      ['refund_missing_in_bill', 'ext_wechat_re_9'],
    ]);
  });

  it('recorded from a notification that named no number (its id is the event id), is matched by payment and amount', () => {
    const ext = refundOf('ext_wechat_evt_123', payment, { amount: 200, origin: 'external', external: true });
    const comparison = compare({
      rows: [refundRow({ refundId: 're_1', paymentId: 'pay_x', amount: 200 }, { providerRefundId: 're_1' })],
      known: [payment],
      ledgerRefunds: [ext],
    });
    expect(comparison).toEqual({ matched: 1, found: [], carried: [], accountedElsewhere: [] });
  });

  it('two console refunds of one amount, the second recorded: the second row is the recorded one, the first is still to record', () => {
    const first = refundRow({ refundId: 're_1', paymentId: 'pay_x', amount: 200 }, { providerRefundId: 're_1' });
    const comparison = compare({
      rows: [first, refundRow({ refundId: 're_2', paymentId: 'pay_x', amount: 200 }, { providerRefundId: 're_2' })],
      known: [payment],
      ledgerRefunds: [recorded('re_2')],
    });
    expect(comparison.matched).toBe(1);
    expect(comparison.found).toEqual([
      {
        difference: expect.objectContaining({ kind: 'refund_missing_in_ledger', refundId: 're_1' }),
        remedy: { action: 'record_external_refund', row: first },
      },
    ]);
  });

  it('is matched once: a second row of the same payment and amount is a refund still to record', () => {
    const ext = recorded('re_1');
    const second = refundRow({ refundId: 're_2', paymentId: 'pay_x', amount: 200 }, { providerRefundId: 're_2' });
    const comparison = compare({
      rows: [refundRow({ refundId: 're_1', paymentId: 'pay_x', amount: 200 }, { providerRefundId: 're_1' }), second],
      known: [payment],
      ledgerRefunds: [ext],
    });
    expect(comparison.matched).toBe(1);
    expect(comparison.found).toEqual([
      {
        difference: expect.objectContaining({ kind: 'refund_missing_in_ledger', refundId: 're_2' }),
        remedy: { action: 'record_external_refund', row: second },
      },
    ]);
  });

  it('is not matched by another amount, nor is a refund of ours that is not external', () => {
    const ours = refundOf('ref_ours', payment, { amount: 200 });
    const ext = recorded('re_7', 150);
    const comparison = compare({
      rows: [refundRow({ refundId: 're_1', paymentId: 'pay_x', amount: 200 }, { providerRefundId: 're_1' })],
      known: [payment],
      knownRefunds: [ours, ext],
    });
    expect(kinds(comparison)).toEqual(['refund_missing_in_ledger']);
  });
});

describe('compareBill: an external refund recorded under the number the row names', () => {
  it('with another amount is an amount_mismatch, not a second refund to record', () => {
    const payment = paid('pay_x');
    const ext: Refund = {
      ...refundOf('ext_wechat_re_1', payment, { amount: 150, origin: 'external', external: true }),
      providerRefundId: 're_1',
    };
    const comparison = compare({
      rows: [refundRow({ refundId: 're_1', paymentId: 'pay_x', amount: 200 }, { providerRefundId: 're_1' })],
      known: [payment],
      ledgerRefunds: [ext],
    });
    expect(comparison.found).toEqual([
      {
        difference: expect.objectContaining({
          kind: 'amount_mismatch',
          refundId: 're_1',
          ours: { status: 'succeeded', amount: 150 },
          theirs: expect.objectContaining({ amount: 200 }),
        }),
      },
    ]);
  });
});

describe('compareBill: the day boundary', () => {
  it('a payment of the last minutes the bill lacks is carried to the next day, not missing', () => {
    const late = paid('pay_late', { paidAt: beijing('23:55:00') });
    const lateRefund = refundOf('ref_late', paid('pay_other'), { succeededAt: beijing('23:59:59') });
    const comparison = compare({ rows: [], ledger: [late], ledgerRefunds: [lateRefund] });
    expect(comparison).toEqual({
      matched: 0,
      found: [],
      carried: ['payment:pay_late', 'refund:ref_late'],
      accountedElsewhere: [],
    });
  });

  it('one the bill lacks from half an hour before the end is missing_in_bill', () => {
    const earlier = paid('pay_earlier', { paidAt: beijing('23:30:00') });
    const comparison = compare({ rows: [], ledger: [earlier] });
    expect(kinds(comparison)).toEqual(['missing_in_bill']);
    expect(comparison.carried).toEqual([]);
  });

  it('exactly carryMinutes before the end is carried; a millisecond earlier is not', () => {
    const atEdge = paid('pay_edge', { paidAt: beijing('23:50:00') });
    const before = paid('pay_before', { paidAt: new Date(Date.parse(beijing('23:50:00')) - 1).toISOString() });
    const comparison = compare({ rows: [], ledger: [atEdge, before] });
    expect(comparison.carried).toEqual(['payment:pay_edge']);
    expect(comparison.found.map(({ difference }) => difference.paymentId)).toEqual(['pay_before']);
  });

  it('a late payment the bill has is matched, not carried', () => {
    const late = paid('pay_late', { paidAt: beijing('23:55:00') });
    expect(compare({ rows: [paymentRow(late)], ledger: [late] })).toEqual({
      matched: 1,
      found: [],
      carried: [],
      accountedElsewhere: [],
    });
  });

  it("an item carried in from the day before, in this day's bill: matched and accounted outside the day", () => {
    const carried = paid('pay_carried', { paidAt: beijing('23:55:00', '2026-11-26') });
    const comparison = compare({ rows: [paymentRow(carried, { finishedAt: beijing('00:00:05') })], ledger: [carried] });
    expect(comparison).toEqual({
      matched: 1,
      found: [],
      carried: [],
      accountedElsewhere: [{ key: 'payment:pay_carried', date: '2026-11-26' }],
    });
  });

  it("an item carried in from the day before, not in this day's bill either: missing_in_bill, not carried again", () => {
    const carried = paid('pay_carried', { paidAt: beijing('23:55:00', '2026-11-26') });
    const comparison = compare({ rows: [], ledger: [carried] });
    expect(comparison.found.map(({ difference }) => [difference.kind, difference.paymentId])).toEqual([
      ['missing_in_bill', 'pay_carried'],
    ]);
    expect(comparison.carried).toEqual([]);
  });

  it('an item of the next day a row names (the provider booked it a little earlier) is accounted outside this day', () => {
    const tomorrow = paid('pay_next', { paidAt: beijing('00:00:01', '2026-11-28') });
    const comparison = compare({
      rows: [paymentRow(tomorrow, { finishedAt: beijing('23:59:59') })],
      known: [tomorrow],
    });
    expect(comparison).toEqual({
      matched: 1,
      found: [],
      carried: [],
      accountedElsewhere: [{ key: 'payment:pay_next', date: '2026-11-28' }],
    });
  });

  it("accountedHere: what another day's bill accounted for is not missing from this one", () => {
    const healedYesterday = paid('pay_healed', { paidAt: beijing('10:30:00') });
    const refund = refundOf('ref_before', healedYesterday);
    const comparison = compare({
      rows: [],
      ledger: [healedYesterday],
      ledgerRefunds: [refund],
      accountedHere: ['payment:pay_healed', 'refund:ref_before'],
    });
    expect(comparison).toEqual({ matched: 0, found: [], carried: [], accountedElsewhere: [] });
  });

  it('accountedHere does not hide a row of this bill that differs', () => {
    const payment = paid('pay_healed');
    const comparison = compare({
      rows: [paymentRow(payment, { amount: 1 })],
      ledger: [payment],
      accountedHere: ['payment:pay_healed'],
    });
    expect(kinds(comparison)).toEqual(['amount_mismatch']);
  });
});

describe('differenceKey', () => {
  it('is the same for the same kind and ids, different for another kind or refund', () => {
    const base = { kind: 'missing_in_bill' as const, paymentId: 'pay_1', providerTransactionId: 'tx_1' };
    expect(differenceKey(base)).toBe(differenceKey({ ...base }));
    expect(differenceKey(base)).not.toBe(differenceKey({ ...base, kind: 'missing_in_ledger' }));
    expect(differenceKey(base)).not.toBe(differenceKey({ ...base, providerTransactionId: 'tx_2' }));
    expect(differenceKey({ ...base, kind: 'refund_missing_in_bill', refundId: 'ref_1' })).not.toBe(
      differenceKey({ ...base, kind: 'refund_missing_in_bill', refundId: 'ref_2' }),
    );
  });
});

describe('differenceEvent', () => {
  const parked = {
    kind: 'refund_before_payment' as const,
    paymentId: 'pay_1',
    refundId: '5030001',
    healed: false,
    notification: {
      type: 'refund' as const,
      provider: 'wechat' as const,
      eventId: 'evt',
      paymentId: 'pay_1',
      outcome: 'succeeded' as const,
      amount: 100,
      currency: 'CNY' as const,
      occurredAt: '2026-11-27T02:00:00.000Z',
      providerStatus: 'SUCCESS',
      via: 'callback' as const,
    },
  };

  it('is one event per day and key, naming the order and customer of the payment, without a parked notification', () => {
    const at = new Date('2026-11-27T03:00:00.000Z');
    const event = differenceEvent(at, 'wechat', '2026-11-27', parked, {
      orderId: 'ord_1',
      customerId: 'alice',
    } as Payment);
    expect(event).toMatchObject({
      id: 'reconciliation:wechat:2026-11-27:refund_before_payment#5030001',
      type: 'ReconciliationDifference',
      detail: {
        orderId: 'ord_1',
        customerId: 'alice',
        paymentId: 'pay_1',
        method: 'wechat',
        date: '2026-11-27',
        kind: 'refund_before_payment',
      },
    });
    expect(event.detail).not.toHaveProperty('notification');
  });

  it('for a bill row naming a payment we never had: empty order and customer, no payment id', () => {
    const unknown = { kind: 'missing_in_ledger' as const, providerTransactionId: 'tx', healed: false };
    expect(differenceEvent(new Date(0), 'alipay', '2026-11-27', unknown).detail).toMatchObject({
      orderId: '',
      customerId: '',
    });
    expect(differenceEvent(new Date(0), 'alipay', '2026-11-27', unknown).detail).not.toHaveProperty('paymentId');
  });
});
