import { CURRENCY } from '../../src/domain/money';
import type { BankRefundStatus } from '../../src/providers/bank';
import type { CheckoutStore, SandboxCheckout, SandboxRefund } from './types';

/** The bank's daily settlement report as its sandbox serves it (docs/PROVIDERS.md#bank-settlement-reports). */

export const REFUND_STATUS: Readonly<Record<SandboxRefund['state'], BankRefundStatus>> = {
  processing: 'pending',
  succeeded: 'succeeded',
  failed: 'failed',
  abnormal: 'requires_action',
};

export function bankCheckout(store: CheckoutStore, paymentId: string): SandboxCheckout | undefined {
  const checkout = store.get(paymentId);
  return checkout?.provider === 'bank' ? checkout : undefined;
}

const REPORT_HEADER = [
  'record_type',
  'transaction_id',
  'merchant_reference',
  'refund_id',
  'bank_refund_id',
  'amount',
  'currency',
  'status',
  'booked_at',
];

/** RFC 4180: a field holding a comma, a quote or a line break goes in quotes, its quotes doubled. */
function csvLine(fields: readonly string[]): string {
  return fields.map((field) => (/[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field)).join(',');
}

/** The bank books in Beijing time: `2026-11-27T18:30:00+08:00`, to the second. */
function beijingTime(iso: string): string {
  return `${new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}

/** The day's report: header, one line per payment and per refund (oldest first), `#totals` trailer, CRLF line ends. */
export function reportCsv(date: string, store: CheckoutStore): string {
  const { payments, refunds } = store.activity('bank', date);
  const paymentLines = payments.map((checkout) => [
    'payment',
    checkout.transactionId ?? '',
    checkout.paymentId,
    '',
    '',
    String(checkout.amount),
    checkout.currency,
    'succeeded',
    beijingTime(checkout.paidAt ?? ''),
  ]);
  const refundLines = refunds.map((refund) => {
    const checkout = bankCheckout(store, refund.paymentId);
    return [
      'refund',
      checkout?.transactionId ?? '',
      refund.paymentId,
      refund.refundId ?? refund.key,
      refund.key,
      String(refund.amount),
      checkout?.currency ?? CURRENCY,
      REFUND_STATUS[refund.state],
      beijingTime(refund.settledAt ?? refund.createdAt),
    ];
  });
  const sum = (items: readonly { amount: number }[]) => String(items.reduce((total, item) => total + item.amount, 0));
  const trailer = [
    '#totals',
    `report_date=${date}`,
    `payment_count=${payments.length}`,
    `payment_amount=${sum(payments)}`,
    `refund_count=${refunds.length}`,
    `refund_amount=${sum(refunds)}`,
  ];
  return [REPORT_HEADER, ...paymentLines, ...refundLines, trailer].map((fields) => `${csvLine(fields)}\r\n`).join('');
}
