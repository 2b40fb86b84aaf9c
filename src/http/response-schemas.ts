import * as z from 'zod';
import { DIFFERENCE_KINDS, RECONCILIATION_STATUSES } from '../domain/reconciliation';
import { CURRENCY, MAX_AMOUNT_FEN } from '../domain/money';
import { ORDER_CANCEL_REASONS, ORDER_STATUSES } from '../domain/order';
import { PAYMENT_STATUSES, type TransitionSource } from '../domain/payment';
import { REFUND_STATUSES } from '../domain/refund';
import { PAYMENT_SCENES } from '../domain/scene';
import { OrderId, PaymentId, PaymentMethodSchema, RefundId, Sku } from './schemas';

/**
 * The public response bodies, for the OpenAPI document. They describe what orderView and
 * paymentView (src/core/orders/views.ts) build; test/unit/http/openapi.test.ts parses real views with
 * them, so a field added to or dropped from a view without changing these fails there. Plain
 * z.object (not strict): docs/API.md#conventions lets us add response fields, so clients must not assume a closed set.
 */
export const TimestampSchema = z.iso.datetime().describe('ISO-8601 UTC');
const Fen = z.int().min(0).max(MAX_AMOUNT_FEN).describe('Amount in fen (CNY minor units)');

export const OrderItemSchema = z.object({
  sku: Sku,
  name: z.string(),
  unitPrice: Fen,
  quantity: z.int().min(1),
  lineTotal: Fen,
});

export const OrderSchema = z.object({
  orderId: OrderId,
  customerId: z.string().describe("The token's sub"),
  status: z.enum(ORDER_STATUSES),
  items: z.array(OrderItemSchema),
  totalAmount: Fen,
  currency: z.literal(CURRENCY),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  openPaymentId: z.optional(PaymentId).describe('The payment that may still be paid, while there is one'),
  paidAt: TimestampSchema.optional(),
  paidByPaymentId: z.optional(PaymentId),
  cancelledAt: TimestampSchema.optional(),
  cancelReason: z
    .enum(ORDER_CANCEL_REASONS)
    .optional()
    .describe('customer: cancelled by the customer; unpaid: no payment was open for too long'),
  refundedAmount: Fen.optional().describe('Refunded of what its paying payment took, once any was'),
  refundedAt: TimestampSchema.optional().describe('When its paid amount was wholly refunded (status refunded)'),
});

const PaymentStatusSchema = z.enum(PAYMENT_STATUSES);
/** Keyed by the domain type, so a new transition source fails to compile until it is listed here. */
const TRANSITION_SOURCES: { [S in TransitionSource]: S } = {
  customer: 'customer',
  provider: 'provider',
  sweeper: 'sweeper',
  system: 'system',
  staff: 'staff',
};

export const PaymentLogEntrySchema = z.object({
  at: TimestampSchema,
  from: PaymentStatusSchema.nullable(),
  to: PaymentStatusSchema,
  reason: z.string(),
  source: z.enum(TRANSITION_SOURCES),
  ref: z.string().optional().describe('Provider event id or request id that caused it'),
});

export const PaymentSchema = z.object({
  paymentId: PaymentId,
  orderId: OrderId,
  amount: Fen,
  currency: z.literal(CURRENCY),
  method: PaymentMethodSchema,
  status: PaymentStatusSchema.describe(
    'An open payment past its expiry already reads expired (unless held for review)',
  ),
  expiresAt: TimestampSchema,
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  payUrl: z
    .string()
    .optional()
    .describe(
      'Where the customer pays in a redirect or QR scene (a URL, or the QR content), once started and until the payment ends',
    ),
  scene: z.enum(PAYMENT_SCENES).optional().describe('The scene it was started in'),
  tradeType: z
    .string()
    .optional()
    .describe(
      'How the provider says it was paid (WeChat trade_type: NATIVE, JSAPI, MWEB, APP), from its callback or query',
    ),
  paidAt: TimestampSchema.optional(),
  providerTransactionId: z.string().optional(),
  latePayment: z.literal(true).optional().describe('The provider confirmed success after the payment had ended'),
  refundRequired: z.literal(true).optional().describe('Money was taken but the order could not use it'),
  refundedAmount: Fen.optional().describe('Refunded so far, once any was'),
  needsReview: z
    .literal(true)
    .optional()
    .describe(
      'Held for our staff (the provider reported another amount): it keeps its status and cannot be replaced or cancelled until they resolve it',
    ),
  logs: z.array(PaymentLogEntrySchema).describe('Every status change, oldest first'),
});

export const ProductSchema = z.object({
  sku: Sku,
  name: z.string(),
  price: Fen.describe('Unit price in fen'),
  stock: z.int().min(0).describe('Units on sale; of a sharded product, the sum of its shards'),
  stockShards: z.int().min(2).optional().describe('Items the stock is spread over (absent: 1)'),
  soldOut: z.literal(true).optional().describe('Every shard was found empty; cleared by any restock'),
  maxPerCustomer: z.int().min(1).optional().describe('Units one customer may hold in pending and paid orders'),
});

export const RefundSchema = z.object({
  refundId: RefundId,
  paymentId: PaymentId,
  orderId: OrderId,
  amount: Fen,
  currency: z.literal(CURRENCY),
  status: z
    .enum(REFUND_STATUSES)
    .describe(
      'pending: recorded, the provider not yet sure to have it; processing: accepted; abnormal: a person must settle it',
    ),
  reason: z.string().optional(),
  providerRefundId: z.string().optional(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  succeededAt: TimestampSchema.optional(),
  failureReason: z.string().optional(),
  external: z
    .literal(true)
    .optional()
    .describe('Made outside this service (a provider console), recorded from its notification'),
});
export const RefundEnvelopeSchema = z.object({ refund: RefundSchema });
export const RefundListSchema = z.object({
  refunds: z.array(RefundSchema).describe('Oldest first'),
  refundedAmount: Fen,
  refundableAmount: Fen.describe('The amount less every refund not failed'),
});

export const OrderAndPaymentSchema = z.object({ order: OrderSchema, payment: PaymentSchema });
export const OrderWithPaymentsSchema = z.object({
  order: OrderSchema,
  payments: z.array(PaymentSchema).describe('Oldest first'),
  refunds: z.array(RefundSchema).describe('Of all its payments'),
});
export const OrderBatchSchema = z.object({
  results: z.array(OrderAndPaymentSchema).describe('In the order of the request'),
});
export const CancelledOrderSchema = z.object({ order: OrderSchema });
const StringParam = z.string();
export const PayActionSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('qr'),
      content: z.string().describe('Render it as a QR code (WeChat code_url, Alipay qr_code)'),
    }),
    z.object({ type: z.literal('redirect'), url: z.string().describe('Navigate the browser there') }),
    z.object({
      type: z.literal('wechat-jsapi'),
      params: z
        .object({
          appId: StringParam,
          timeStamp: StringParam.describe('Unix seconds'),
          nonceStr: StringParam,
          package: StringParam.describe('prepay_id=<prepay_id>'),
          signType: z.literal('RSA'),
          paySign: StringParam,
        })
        .describe("WeixinJSBridge.invoke('getBrandWCPayRequest', params) or wx.requestPayment(params)"),
    }),
    z.object({
      type: z.literal('wechat-app'),
      params: z
        .object({
          appid: StringParam,
          partnerid: StringParam,
          prepayid: StringParam,
          package: z.literal('Sign=WXPay'),
          noncestr: StringParam,
          timestamp: StringParam,
          sign: StringParam,
        })
        .describe("The WeChat OpenSDK's PayReq"),
    }),
    z.object({
      type: z.literal('alipay-app'),
      orderString: z.string().describe("The Alipay app SDK's payV2 order string"),
    }),
    z.object({ type: z.literal('alipay-miniprogram'), tradeNo: z.string().describe('my.tradePay({ tradeNO })') }),
  ])
  .describe('What the front end does to pay; the bridge and app signatures are fresh on every answer');
export const PaymentCheckoutSchema = z.object({
  payment: PaymentSchema.describe('A new payment when the customer switched scene: the old one is cancelled'),
  action: PayActionSchema,
  payUrl: z.string().optional().describe('Redirect and QR scenes: the URL or QR content, as before scenes'),
});
export const PaymentMethodsSchema = z.object({
  methods: z.array(
    z.object({
      method: PaymentMethodSchema,
      defaultScene: z.enum(PAYMENT_SCENES),
      scenes: z.array(
        z.object({
          scene: z.enum(PAYMENT_SCENES),
          action: z.enum(['qr', 'redirect', 'wechat-jsapi', 'wechat-app', 'alipay-app', 'alipay-miniprogram']),
          payer: z.enum(['openid', 'alipayOpenId']).optional().describe('The payer id this scene needs'),
        }),
      ),
    }),
  ),
});
export const ProductListSchema = z.object({ products: z.array(ProductSchema) });

const DifferenceSideSchema = z.object({ status: z.string().optional(), amount: z.int().optional().describe('Fen') });

export const ReconciliationDifferenceSchema = z.object({
  kind: z.enum(DIFFERENCE_KINDS),
  paymentId: z.string().optional(),
  refundId: z.string().optional(),
  providerTransactionId: z.string().optional(),
  ours: DifferenceSideSchema.optional().describe('Our ledger'),
  theirs: DifferenceSideSchema.optional().describe("The provider's bill"),
  healed: z
    .boolean()
    .describe('Set right by the reconciliation (through the notification path); false: open for a person'),
  resolution: z.string().optional().describe('How it was healed, or why it could not be'),
});

export const ReconciliationDaySchema = z.object({
  date: z.string().describe('The Beijing business day, YYYY-MM-DD'),
  providers: z.array(
    z.object({
      provider: PaymentMethodSchema,
      date: z.string(),
      status: z.enum(RECONCILIATION_STATUSES),
      billRows: z.int(),
      matched: z.int(),
      healed: z.int(),
      carried: z
        .int()
        .describe("Ledger items of the day's last minutes not in this bill: checked against the next day's"),
      ranAt: z.optional(TimestampSchema),
      detail: z.string().optional(),
      differences: z.array(ReconciliationDifferenceSchema),
    }),
  ),
});

export const ErrorSchema = z.object({
  error: z.object({
    code: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/)
      .describe('Stable SNAKE_CASE code, e.g. OUT_OF_STOCK'),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
