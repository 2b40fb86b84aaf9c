import * as z from 'zod/mini';
import '../../core/kernel/zod-english';
import { type CURRENCY, isFen } from '../../domain/money';
import type { NotificationOutcome, RefundOutcome } from '../../domain/notification';
import type { CheckoutRefusal, ProviderPaymentState } from '../../core/payments/provider';

export const WECHAT_SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';
/** WeChat's probe requests carry signatures with this prefix; they are counted apart. */
export const WECHAT_SIGNTEST_PREFIX = 'WECHATPAY/SIGNTEST/';
/** Replay window for callbacks and answers: 5 minutes either way, the boundary included. */
export const WECHAT_REPLAY_WINDOW_SECONDS = 300;

export const WECHAT_TRADE_STATES = [
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
] as const;
export type WechatTradeState = (typeof WECHAT_TRADE_STATES)[number];

/**
 * A callback's trade_state → our outcome; null = verified but nothing to act on. Mapped from the
 * decrypted trade_state, not event_type: real WeChat only pushes TRANSACTION.SUCCESS, the sandbox
 * also pushes PAYERROR / CLOSED in the same envelope. A REFUND push means the payment succeeded
 * earlier (its SUCCESS was the event to act on); refunds are not handled here.
 */
export const WECHAT_CALLBACK_OUTCOMES: Readonly<Record<WechatTradeState, NotificationOutcome | null>> = {
  SUCCESS: 'succeeded',
  PAYERROR: 'failed',
  CLOSED: 'cancelled',
  REVOKED: 'cancelled',
  NOTPAY: null,
  USERPAYING: null,
  REFUND: null,
};

/** A queried trade_state → the provider's view of the payment. */
export const WECHAT_QUERY_STATUSES: Readonly<Record<WechatTradeState, ProviderPaymentState['status']>> = {
  SUCCESS: 'paid',
  // REFUND: the customer paid and was (partly) refunded since. The payment did succeed, so it is
  // 'paid'; the refund is a separate matter, not a reason to expire or close the payment.
  REFUND: 'paid',
  NOTPAY: 'pending',
  USERPAYING: 'pending',
  CLOSED: 'closed',
  REVOKED: 'closed',
  PAYERROR: 'failed',
};

/** RFC 3339 with seconds and an explicit offset, e.g. 2026-11-25T12:30:00+08:00. */
const Rfc3339Schema = z.iso.datetime({ offset: true });

/** The callback body. Unknown fields are ignored (WeChat adds fields without notice). */
export const WechatCallbackEnvelopeSchema = z.object({
  id: z.string().check(z.minLength(1)),
  create_time: Rfc3339Schema,
  event_type: z.string().check(z.minLength(1)),
  resource_type: z.literal('encrypt-resource'),
  summary: z.optional(z.string()),
  resource: z.object({
    algorithm: z.literal('AEAD_AES_256_GCM'),
    /** base64 of the ciphertext followed by the 16-byte GCM tag. */
    ciphertext: z.string().check(z.minLength(1)),
    /** The GCM IV, as UTF-8 text (12 characters). */
    nonce: z.string().check(z.minLength(1)),
    /** The GCM additional authenticated data, as UTF-8 text; may be empty or absent. */
    associated_data: z.optional(z.string()),
    /** 'transaction' for payment notifications, 'refund' for refund ones. */
    original_type: z.optional(z.string()),
  }),
});
export type WechatCallbackEnvelope = z.infer<typeof WechatCallbackEnvelopeSchema>;

const AmountSchema = z.object({
  /** Order total in fen. */
  total: z.number().check(z.refine(isFen, 'must be a non-negative integer number of fen')),
  payer_total: z.optional(z.number()),
  /** Kept a plain string so a foreign currency is reported as currency_mismatch. */
  currency: z.string().check(z.minLength(1)),
  payer_currency: z.optional(z.string()),
});

/** The transaction: a callback's decrypted resource, and the answer to a query. */
export const WechatTransactionSchema = z.object({
  appid: z.string().check(z.minLength(1)),
  mchid: z.string().check(z.minLength(1)),
  out_trade_no: z.string().check(z.minLength(1)),
  transaction_id: z.optional(z.string().check(z.minLength(1))),
  /** Kept a plain string so an unknown state is reported as such rather than as malformed. */
  trade_state: z.string().check(z.minLength(1)),
  trade_state_desc: z.optional(z.string()),
  success_time: z.optional(Rfc3339Schema),
  /** JSAPI (official account and mini-program alike), NATIVE, APP, MWEB (H5)...; optional in WeChat's schema. */
  trade_type: z.optional(z.string()),
  payer: z.optional(z.object({ openid: z.optional(z.string()) })),
  amount: AmountSchema,
});
export type WechatTransaction = z.infer<typeof WechatTransactionSchema>;

/** The body every prepay shares (`/v3/pay/transactions/{native,jsapi,h5,app}`), SCENES.md §0. */
export interface WechatPrepayRequest {
  appid: string;
  mchid: string;
  description: string;
  out_trade_no: string;
  notify_url: string;
  amount: { total: number; currency: typeof CURRENCY };
  /** RFC 3339 in Beijing time (+08:00). */
  time_expire: string;
  /** JSAPI and mini-program: the payer's openid under `appid`. */
  payer?: { openid: string };
  /** H5: the customer's IP and the page's kind. */
  scene_info?: {
    payer_client_ip: string;
    h5_info: { type: string; app_name?: string; app_url?: string };
  };
}
/** Native's body (the prepay without payer or scene_info). */
export type WechatNativeOrderRequest = Omit<WechatPrepayRequest, 'payer' | 'scene_info'>;

export const NativeOrderResponseSchema = z.object({ code_url: z.string().check(z.minLength(1)) });
export const PrepayResponseSchema = z.object({ prepay_id: z.string().check(z.minLength(1), z.maxLength(64)) });
export const H5OrderResponseSchema = z.object({ h5_url: z.url() });
/** WeChat's error body, e.g. {"code":"ORDER_NOT_EXIST","message":"..."}. */
export const ErrorResponseSchema = z.object({
  code: z.string().check(z.minLength(1)),
  message: z.optional(z.string()),
});

/**
 * Prepay error codes that say why WeChat will not create the checkout (SCENES.md §0, WeChat's v3
 * error table). SYSTEMERROR (500) and FREQUENCY_LIMITED (429) are not here: asked again with the
 * same parameters they may pass. Any other code (PARAM_ERROR, SIGN_ERROR…) is our own fault.
 */
export const WECHAT_CHECKOUT_REFUSALS: Readonly<Record<string, CheckoutRefusal>> = {
  NO_AUTH: 'scene_not_enabled',
  OPENID_MISMATCH: 'payer_mismatch',
  RULELIMIT: 'declined',
  TRADE_ERROR: 'declined',
  ORDERPAID: 'already_paid',
  ORDER_CLOSED: 'closed',
  OUT_TRADE_NO_USED: 'number_taken',
  // v2's "201 商户订单号重复": the same out_trade_no with other parameters.
  INVALID_REQUEST: 'number_taken',
};

export function isWechatTradeState(state: string): state is WechatTradeState {
  return (WECHAT_TRADE_STATES as readonly string[]).includes(state);
}

// Refunds ---------------------------------------------------------------------------------------

export const WECHAT_REFUND_STATUSES = ['SUCCESS', 'PROCESSING', 'ABNORMAL', 'CLOSED'] as const;
export type WechatRefundStatus = (typeof WECHAT_REFUND_STATUSES)[number];

/**
 * A refund's status (create and query answers, notifications) → our outcome. CLOSED is final: the
 * refund will not happen under that out_refund_no. ABNORMAL means the money could not reach the
 * customer's original account (card cancelled or frozen): a person resolves it on the merchant
 * platform (or through apply-abnormal-refund), so it is not a plain failure.
 */
export const WECHAT_REFUND_OUTCOMES: Readonly<Record<WechatRefundStatus, RefundOutcome>> = {
  SUCCESS: 'succeeded',
  PROCESSING: 'processing',
  ABNORMAL: 'abnormal',
  CLOSED: 'failed',
};

/** The refund notification events and the refund_status each must carry (WeChat never pushes PROCESSING). */
export const WECHAT_REFUND_EVENTS: Readonly<Record<string, WechatRefundStatus>> = {
  'REFUND.SUCCESS': 'SUCCESS',
  'REFUND.ABNORMAL': 'ABNORMAL',
  'REFUND.CLOSED': 'CLOSED',
};

const fen = z.number().check(z.refine(isFen, 'must be a non-negative integer number of fen'));

/** `POST /v3/refund/domestic/refunds` request body. */
export interface WechatRefundRequest {
  out_trade_no: string;
  /** ≤ 64 of [0-9A-Za-z_-|*@]; the same number again is the same refund. */
  out_refund_no: string;
  /** ≤ 80 characters, shown to the customer. */
  reason?: string;
  notify_url: string;
  /** `total` is the ORIGINAL payment's amount, `refund` this refund's. */
  amount: { refund: number; total: number; currency: typeof CURRENCY };
}

/** A refund, as the create and query calls answer it. */
export const WechatRefundSchema = z.object({
  refund_id: z.string().check(z.minLength(1)),
  out_refund_no: z.string().check(z.minLength(1)),
  transaction_id: z.optional(z.string()),
  out_trade_no: z.string().check(z.minLength(1)),
  channel: z.optional(z.string()),
  user_received_account: z.optional(z.string()),
  success_time: z.optional(Rfc3339Schema),
  create_time: z.optional(Rfc3339Schema),
  /** Kept a plain string so an unknown status is reported as such. */
  status: z.string().check(z.minLength(1)),
  amount: z.object({
    total: fen,
    refund: fen,
    payer_total: z.optional(z.number()),
    payer_refund: z.optional(z.number()),
    currency: z.string().check(z.minLength(1)),
  }),
});
export type WechatRefund = z.infer<typeof WechatRefundSchema>;

/** A refund notification's decrypted resource. It has no appid (unlike a transaction). */
export const WechatRefundResourceSchema = z.object({
  mchid: z.string().check(z.minLength(1)),
  out_trade_no: z.string().check(z.minLength(1)),
  transaction_id: z.string().check(z.minLength(1)),
  out_refund_no: z.string().check(z.minLength(1)),
  refund_id: z.string().check(z.minLength(1)),
  refund_status: z.string().check(z.minLength(1)),
  success_time: z.optional(Rfc3339Schema),
  user_received_account: z.optional(z.string()),
  amount: z.object({
    total: fen,
    refund: fen,
    payer_total: z.optional(z.number()),
    payer_refund: z.optional(z.number()),
  }),
});
export type WechatRefundResource = z.infer<typeof WechatRefundResourceSchema>;

export function isWechatRefundStatus(status: string): status is WechatRefundStatus {
  return (WECHAT_REFUND_STATUSES as readonly string[]).includes(status);
}

/** WeChat's limit on `reason`; a longer one would refuse the whole refund, so it is cut instead. */
export const REFUND_REASON_MAX_CHARACTERS = 80;

/** WeChat's times are RFC 3339 in Beijing time (the kit's). */
export { toBeijingRfc3339, toIsoUtc } from '../kit/beijing-time';
