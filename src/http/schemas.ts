import { MAX_STOCK_SHARDS } from '../domain/stock';
import * as z from 'zod/mini';
import '../core/kernel/zod-english';
import { isBusinessDate } from '../domain/bill';
import { MAX_AMOUNT_FEN } from '../domain/money';
import { PAYMENT_METHODS } from '../domain/payment';
import { PAYMENT_SCENES } from '../domain/scene';
import { MAX_ORDERS_PER_BATCH } from '../core/orders/orders';

/** A description for the OpenAPI document (what classic zod's `.describe()` records). */
const described = <T extends z.ZodMiniType>(schema: T, description: string): T => {
  z.globalRegistry.add(schema, { description });
  return schema;
};

/**
 * The public request contract (docs/API.md#routes), validated by the handlers and exported to OpenAPI from
 * the same definitions.
 */
export const Sku = z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'a SKU is 1–64 letters, digits, . _ -'));
export const PaymentMethodSchema = z.enum(PAYMENT_METHODS);
const Id = (prefix: string) => z.string().check(z.regex(new RegExp(`^${prefix}_[0-9a-z]{22}$`), `not a ${prefix}_ id`));
export const OrderId = Id('ord');
export const PaymentId = Id('pay');
/** Ours (`ref_`), or a refund made outside this service and recorded from its notification (`ext_`). */
export const RefundId = z
  .string()
  .check(z.regex(/^(ref_[0-9a-z]{22}|ext_[A-Za-z0-9_.:|*@-]{1,120})$/, 'not a refund id'));
export const TtlMinutes = described(
  z.int().check(z.minimum(1), z.maximum(24 * 60)),
  'Narrows the payment TTL for this request (never beyond the deployment TTL)',
);

export const OrderItemInput = z.strictObject({
  sku: Sku,
  quantity: z.int('quantity must be an integer').check(z.minimum(1, 'quantity must be at least 1'), z.maximum(10_000)),
});

export const CreateOrderBody = z.strictObject({
  items: z.array(OrderItemInput).check(z.minLength(1, 'an order needs at least one item'), z.maxLength(50)),
  paymentMethod: z._default(PaymentMethodSchema, 'wechat'),
  ttlMinutes: z.optional(TtlMinutes),
});

export const CreateOrdersBatchBody = z.strictObject({
  orders: z
    .array(z.strictObject({ items: CreateOrderBody.shape.items }))
    .check(z.minLength(1), z.maxLength(MAX_ORDERS_PER_BATCH)),
  paymentMethod: z._default(PaymentMethodSchema, 'wechat'),
  ttlMinutes: z.optional(TtlMinutes),
});

export const AddPaymentBody = z._default(
  z.strictObject({ paymentMethod: z.optional(PaymentMethodSchema), ttlMinutes: z.optional(TtlMinutes) }),
  {},
);

/** A payer id as the provider issues it (WeChat openid, Alipay open_id): 1–128 visible characters. */
const PayerId = z.string().check(z.regex(/^[\x21-\x7e]{1,128}$/, 'a payer id is 1–128 visible ASCII characters'));

export const StartPaymentBody = z._default(
  z.strictObject({
    scene: described(
      z.optional(z.enum(PAYMENT_SCENES)),
      "Where the customer pays (GET /api/payment-methods lists this deployment's scenes); the method's default when left out",
    ),
    channel: described(z.optional(z.enum(['page', 'wap'])), 'Alipay: the old name of the page / wap scene'),
    payer: described(
      z.optional(z.strictObject({ openid: z.optional(PayerId), alipayOpenId: z.optional(PayerId) })),
      'The payer id a scene needs (WeChat jsapi / miniprogram: openid; Alipay miniprogram: alipayOpenId); a token claim that carries it wins',
    ),
  }),
  {},
);

export const CreateProductBody = z.strictObject({
  sku: Sku,
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  price: described(z.int().check(z.minimum(1), z.maximum(MAX_AMOUNT_FEN)), 'Unit price in fen'),
  stock: z.int().check(z.minimum(0), z.maximum(1_000_000_000)),
  stockShards: described(
    z.optional(z.int().check(z.minimum(1), z.maximum(MAX_STOCK_SHARDS))),
    'Items the stock is spread over, for a flash sale (about one per 250 orders/s); default 1',
  ),
  maxPerCustomer: described(
    z.optional(z.int().check(z.minimum(1), z.maximum(1_000_000))),
    'Units one customer may hold in pending and paid orders (a sale’s cap); default none',
  ),
});

export const RefundPaymentBody = z._default(
  z.strictObject({
    amount: described(
      z.optional(z.int().check(z.minimum(1), z.maximum(MAX_AMOUNT_FEN))),
      'Fen; default: everything still refundable',
    ),
    reason: described(
      z.optional(z.string().check(z.minLength(1), z.maxLength(80))),
      'Shown to the customer by some providers (WeChat: at most 80 characters)',
    ),
    restock: described(
      z.optional(z.array(OrderItemInput).check(z.maxLength(50))),
      'Items of the order to put back in stock when the refund succeeds',
    ),
  }),
  {},
);

export const OrderParams = z.object({ orderId: OrderId });
export const RefundParams = z.object({ refundId: RefundId });
export const PaymentParams = z.object({ paymentId: PaymentId });
/** A Beijing business day, `YYYY-MM-DD`, that exists on the calendar. */
export const BusinessDateSchema = z
  .string()
  .check(z.refine(isBusinessDate, 'a date is YYYY-MM-DD (a Beijing business day)'));
export const ReconciliationParams = z.object({ date: BusinessDateSchema });
