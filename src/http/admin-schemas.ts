import * as z from 'zod/mini';
import '../core/kernel/zod-english';
import { AUDITED_KINDS } from '../domain/audit';
import { MAX_AMOUNT_FEN } from '../domain/money';
import { MAX_STOCK_SHARDS } from '../domain/stock';
import { ORDER_STATUSES } from '../domain/order';
import { PAYMENT_METHODS, PAYMENT_STATUSES } from '../domain/payment';
import { REFUND_STATUSES } from '../domain/refund';
import { REVIEW_DECISIONS } from '../domain/review';
import { PAYMENT_FLAGS } from '../domain/waiting';
import { BusinessDateSchema, PaymentId, RefundId, Sku } from './schemas';

/**
 * The lists' and staff actions' request contract (docs/API.md#lists, #staff-actions): query strings
 * of the lists, bodies of the actions. Every action takes a `reason`, kept in its audit entry.
 */

const described = <T extends z.ZodMiniType>(schema: T, description: string): T => {
  z.globalRegistry.add(schema, { description });
  return schema;
};

const Limit = described(
  z._default(
    z.coerce.number().check(z.refine(Number.isInteger, 'limit must be a whole number'), z.minimum(1), z.maximum(100)),
    20,
  ),
  'Items a page holds at most (1–100)',
);
const Cursor = described(
  z.optional(z.string().check(z.minLength(1), z.maxLength(4000))),
  "The previous page's nextCursor; only that very list (same filters) accepts it",
);
const Time = z.iso.datetime({ offset: false });
const Window = {
  limit: Limit,
  cursor: Cursor,
  from: described(z.optional(Time), 'Made at or after this ISO time'),
  to: described(z.optional(Time), 'Made at or before this ISO time'),
};

export const MyOrdersQuery = z.strictObject({
  status: z.optional(z.enum(ORDER_STATUSES)),
  limit: Limit,
  cursor: Cursor,
});

export const AdminOrdersQuery = z.strictObject({
  status: z.optional(z.enum(ORDER_STATUSES)),
  customerId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  ...Window,
});

export const AdminPaymentsQuery = z.strictObject({
  status: z.optional(z.enum(PAYMENT_STATUSES)),
  method: z.optional(z.enum(PAYMENT_METHODS)),
  flag: described(
    z.optional(z.enum([...PAYMENT_FLAGS, 'refundOwed'])),
    'needsReview, latePayment, refundRequired, extraCapture; refundOwed: money taken that no refund gives back yet',
  ),
  ...Window,
});

export const AdminRefundsQuery = z.strictObject({ status: z.optional(z.enum(REFUND_STATUSES)), ...Window });

export const PageQuery = z.strictObject({ limit: Limit, cursor: Cursor });

export const AuditQuery = z.strictObject({
  entity: described(
    z
      .string()
      .check(
        z.regex(
          new RegExp(`^(${AUDITED_KINDS.join('|')}):[^\\s]{1,400}$`),
          'entity is <kind>:<id>, e.g. payment:pay_…',
        ),
      ),
    `The item: ${AUDITED_KINDS.map((kind) => `${kind}:<id>`).join(', ')}`,
  ),
  ...Window,
});

const Reason = described(
  z.string().check(z.trim(), z.minLength(3, 'a reason of at least 3 characters is required'), z.maxLength(500)),
  'Why: kept in the audit entry with who and when',
);

export const ReasonBody = z.strictObject({ reason: Reason });

export const ReviewBody = z.strictObject({
  decision: described(
    z.enum(REVIEW_DECISIONS),
    "accept: take the provider's amount (the order is paid only when it covers it; the rest is refunded); refund: give it all back",
  ),
  reason: Reason,
});

export const SettleRefundBody = z.strictObject({
  action: described(z.enum(['settled-offline']), 'settled-offline: the customer was paid back another way'),
  reason: Reason,
});

const Destination = described(
  z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('USER_BANK_CARD'),
      bankType: described(
        z.string().check(z.regex(/^[A-Z0-9_]{2,32}$/)),
        "WeChat's bank code of the customer's debit card, e.g. ICBC_DEBIT",
      ),
      bankAccount: described(
        z.string().check(z.regex(/^\d{8,30}$/)),
        'The card number, digits only (sent to WeChat encrypted, never stored)',
      ),
      realName: described(
        z.string().check(z.minLength(1), z.maxLength(50)),
        "The card holder's name (sent encrypted, never stored)",
      ),
    }),
    z.strictObject({ type: z.literal('MERCHANT_BANK_CARD') }),
  ]),
  "USER_BANK_CARD: to the customer's debit card; MERCHANT_BANK_CARD: to the shop's bank account, which pays the customer itself",
);

export const RetryRefundBody = z.strictObject({ destination: Destination, reason: Reason });

export const ProductPatchBody = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  price: described(z.optional(z.int().check(z.minimum(1), z.maximum(MAX_AMOUNT_FEN))), 'Unit price in fen'),
  active: described(z.optional(z.boolean()), 'false: off sale (orders refuse it)'),
  stockShards: described(
    z.optional(z.int().check(z.minimum(1), z.maximum(MAX_STOCK_SHARDS))),
    'Spread the stock over this many items before a sale (1: back on the product); sent on its own',
  ),
  reason: Reason,
});

export const StockAdjustBody = z.strictObject({
  adjust: described(
    z.int().check(z.minimum(-1_000_000_000), z.maximum(1_000_000_000)),
    'Units more (+n) or fewer (-n); never below what open orders hold',
  ),
  reason: Reason,
});

export const ProductParams = z.object({ sku: Sku });
export const AdminPaymentParams = z.object({ paymentId: PaymentId });
export const AdminRefundParams = z.object({ refundId: RefundId });
export const ReconciliationRunParams = z.object({ provider: z.enum(PAYMENT_METHODS), date: BusinessDateSchema });
export const DifferenceParams = z.object({
  differenceId: z.string().check(z.regex(/^[A-Za-z0-9_-]{8,600}$/, 'not a difference id')),
});
