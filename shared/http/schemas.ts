import * as z from 'zod';
import { isBusinessDate } from '../domain/bill';
import { MAX_AMOUNT_FEN } from '../domain/money';
import { PAYMENT_METHODS } from '../domain/payment';
import { MAX_ORDERS_PER_BATCH } from '../core/orders';

/**
 * The public request contract (docs/API.md#routes), validated by the handlers and exported to OpenAPI from
 * the same definitions.
 */
export const Sku = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a SKU is 1–64 letters, digits, . _ -');
export const PaymentMethodSchema = z.enum(PAYMENT_METHODS);
const Id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{22}$`), `not a ${prefix}_ id`);
export const OrderId = Id('ord');
export const PaymentId = Id('pay');
/** Ours (`ref_`), or a refund made outside this service and recorded from its notification (`ext_`). */
export const RefundId = z.string().regex(/^(ref_[0-9a-z]{22}|ext_[A-Za-z0-9_.:|*@-]{1,120})$/, 'not a refund id');
export const TtlMinutes = z
  .int()
  .min(1)
  .max(24 * 60)
  .describe('Narrows the payment TTL for this request (never beyond the deployment TTL)');

export const OrderItemInput = z.strictObject({
  sku: Sku,
  quantity: z.int('quantity must be an integer').min(1, 'quantity must be at least 1').max(10_000),
});

export const CreateOrderBody = z.strictObject({
  items: z.array(OrderItemInput).min(1, 'an order needs at least one item').max(50),
  paymentMethod: PaymentMethodSchema.default('wechat'),
  ttlMinutes: TtlMinutes.optional(),
});

export const CreateOrdersBatchBody = z.strictObject({
  orders: z
    .array(z.strictObject({ items: CreateOrderBody.shape.items }))
    .min(1)
    .max(MAX_ORDERS_PER_BATCH),
  paymentMethod: PaymentMethodSchema.default('wechat'),
  ttlMinutes: TtlMinutes.optional(),
});

export const AddPaymentBody = z.strictObject({ paymentMethod: PaymentMethodSchema.optional(), ttlMinutes: TtlMinutes.optional() }).default({});

export const StartPaymentBody = z
  .strictObject({ channel: z.enum(['page', 'wap']).optional().describe('Alipay: desktop page or mobile wap checkout') })
  .default({});

export const CreateProductBody = z.strictObject({
  sku: Sku,
  name: z.string().min(1).max(200),
  price: z.int().min(1).max(MAX_AMOUNT_FEN).describe('Unit price in fen'),
  stock: z.int().min(0).max(1_000_000_000),
});

export const RefundPaymentBody = z
  .strictObject({
    amount: z.int().min(1).max(MAX_AMOUNT_FEN).optional().describe('Fen; default: everything still refundable'),
    reason: z.string().min(1).max(80).optional().describe('Shown to the customer by some providers (WeChat: at most 80 characters)'),
    restock: z.array(OrderItemInput).max(50).optional().describe('Items of the order to put back in stock when the refund succeeds'),
  })
  .default({});

export const OrderParams = z.object({ orderId: OrderId });
export const RefundParams = z.object({ refundId: RefundId });
export const PaymentParams = z.object({ paymentId: PaymentId });
/** A Beijing business day, `YYYY-MM-DD`, that exists on the calendar. */
export const BusinessDateSchema = z.string().refine(isBusinessDate, 'a date is YYYY-MM-DD (a Beijing business day)');
export const ReconciliationParams = z.object({ date: BusinessDateSchema });
