import type { Currency, Fen } from '../../domain/money';
import type { PaymentNotification, RefundNotification } from '../../domain/notification';
import type { BusinessDate, ProviderBill } from '../../domain/bill';
import type { PaymentMethod } from '../../domain/payment';
import type { PayAction, PayActionType, Payer, PayerField, PaymentScene, StartedCheckout } from '../../domain/scene';

export type ProviderName = PaymentMethod;

/** A callback exactly as it reached us: lower-cased header names and the raw body bytes. */
export interface RawCallback {
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

/** An HTTP reply in the provider's own format (acknowledgement or failure). */
export interface ProviderReply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Why a callback was not accepted; each one is counted under its own name. */
export const REJECTION_REASONS = [
  'malformed', // not the provider's format at all, or a required header/field missing
  'bad_signature', // signature does not verify
  'signature_probe', // WeChat WECHATPAY/SIGNTEST/ probe: rejected, counted apart
  'unknown_key', // Wechatpay-Serial names no configured key
  'stale_timestamp', // outside the replay window
  'decrypt_failed', // AES-GCM resource could not be opened with our APIv3 key
  'merchant_mismatch', // mchid / appid / app_id / seller_id not ours
  'amount_mismatch', // amount differs from the payment's
  'currency_mismatch',
  'unknown_payment', // no such payment (only where the caller chose to check)
  'unsupported_event', // a verified event we do not act on (e.g. a refund event)
  'not_configured', // the provider is not configured in this deployment
  'too_large', // the body is over the size bound: refused before any verification
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export type CallbackVerification<
  N extends PaymentNotification | RefundNotification = PaymentNotification | RefundNotification,
> = { ok: true; notification: N } | { ok: false; reason: RejectionReason; detail: string };

/** What the provider needs to know about a payment to create its checkout. */
export interface PayablePayment {
  paymentId: string;
  orderId: string;
  amount: Fen;
  currency: Currency;
  expiresAt: string;
  description: string;
}

/** A checkout to create (or re-enter: the same out_trade_no with the same parameters) at the provider. */
export interface CheckoutRequest {
  payment: PayablePayment;
  scene: PaymentScene;
  /** The scene's payer id (SceneSupport.payer), when it needs one. */
  payer: Payer;
  /** The customer's IP as our edge saw it (WeChat H5's payer_client_ip). */
  clientIp: string;
  /** Our callback URL for this provider. */
  notifyUrl: string;
  /** Where the customer's browser returns after paying (Alipay, bank, WeChat H5's redirect_url). */
  returnUrl: string;
  now: Date;
}

/** What the front end gets for a started checkout; signatures in it are made afresh each time. */
export interface ActionRequest {
  scene: PaymentScene;
  /** The checkout's handle (StartedCheckout.ref). */
  ref: string;
  returnUrl: string;
  now: Date;
}

/** One scene of a provider (its scene table, docs/PROVIDERS.md): what it needs and hands out. */
export interface SceneSupport {
  /** This deployment's configuration enables it (its appid is there); otherwise SCENE_NOT_CONFIGURED. */
  configured: boolean;
  /** The kind of action the front end gets. */
  action: PayActionType;
  /** The payer id it cannot do without (PAYER_REQUIRED). */
  payer?: PayerField;
  /** The customer's IP is part of the checkout (WeChat H5). */
  usesClientIp?: boolean;
}

/** Closing a started checkout: `no_trade` means the provider has no trade to close yet (an unscanned Alipay QR, an unopened page): it may still be paid until its own expiry. */
export type CloseOutcome = 'closed' | 'no_trade';

/** The provider's view of a payment, from our query. */
export type ProviderPaymentState =
  | {
      status: 'paid';
      providerTransactionId: string;
      amount: Fen;
      currency: Currency;
      paidAt: string;
      providerStatus: string;
      /** How it was paid (WeChat trade_type) and the scene that is, where the provider says. */
      tradeType?: string;
      scene?: PaymentScene;
    }
  | { status: 'pending' | 'closed' | 'failed' | 'not_found'; providerStatus: string };

/**
 * A refund to ask of the provider. `refundId` is sent as the provider's refund number
 * (out_refund_no, out_request_no, bank refund_id): a retry with the same id is the same refund at
 * the provider, never a second one.
 */
export interface RefundRequest {
  refundId: string;
  paymentId: string;
  providerTransactionId?: string;
  /** This refund. */
  amount: Fen;
  /** The original payment's amount (WeChat requires it as amount.total). */
  paymentAmount: Fen;
  currency: Currency;
  /** Shown to the customer by some providers (WeChat: at most 80 characters). */
  reason?: string;
  /** Our callback URL for this provider (WeChat takes one per refund; the others notify where they always do). */
  notifyUrl: string;
  now: Date;
}

/**
 * The provider's view of a refund, from creating or querying it. `failed` is a definite refusal
 * or a refund the provider closed; an unknown outcome (timeout, 5xx, an answer we cannot read) is
 * never `failed`: it is thrown as a retryable ProviderCallError.
 */
/**
 * Where an abnormal refund is sent again (WeChat's apply-abnormal-refund): the customer's own bank
 * card (the details go to the provider encrypted, never stored), or the shop's bank account, from
 * which the shop pays the customer itself.
 */
export type AbnormalRefundDestination =
  { type: 'USER_BANK_CARD'; bankType: string; bankAccount: string; realName: string } | { type: 'MERCHANT_BANK_CARD' };

export interface AbnormalRefundRetry {
  refundId: string;
  paymentId: string;
  /** The provider's own id of the refund (WeChat's refund_id): the re-submission names it in its path. */
  providerRefundId: string;
  destination: AbnormalRefundDestination;
  now: Date;
}

/** The provider took the re-submission (the refund's state as it answered), or refused it (nothing was sent). */
export type AbnormalRefundRetryAnswer =
  { outcome: 'accepted'; state: ProviderRefundState } | { outcome: 'refused'; providerStatus: string; reason: string };

export type ProviderRefundState =
  | { status: 'succeeded'; providerRefundId?: string; amount: Fen; succeededAt: string; providerStatus: string }
  | { status: 'processing' | 'abnormal'; providerRefundId?: string; providerStatus: string }
  | { status: 'failed'; providerStatus: string; reason: string }
  | { status: 'not_found'; providerStatus: string };

/**
 * The answer to asking for a day's bill. `not_ready`: not published yet (WeChat STATEMENT_CREATING,
 * Alipay isp.bill_not_exist before the cut-off): ask again later. `no_trades`: the provider says
 * there was nothing that day (WeChat NO_STATEMENT_EXIST), an empty bill.
 */
export type BillFetch =
  { status: 'ready'; bill: ProviderBill } | { status: 'not_ready' | 'no_trades'; providerStatus: string };

/**
 * Why a provider refused to create a checkout, in the shop's terms (docs/PROVIDERS.md#checkout-refusals):
 * the product is not enabled on the merchant account (WeChat NO_AUTH), the payer id does not fit
 * (OPENID_MISMATCH, ACQ.TRADE_BUYER_NOT_MATCH), the provider's rules declined it (RULELIMIT,
 * TRADE_ERROR), or the out_trade_no is already paid, closed or taken with other parameters.
 */
export type CheckoutRefusal =
  'scene_not_enabled' | 'payer_mismatch' | 'declined' | 'already_paid' | 'closed' | 'number_taken';

/** A provider answered an outbound call with an error, or its answer failed verification. */
export class ProviderCallError extends Error {
  readonly code = 'PROVIDER_CALL_FAILED';
  constructor(
    readonly provider: ProviderName,
    readonly operation: string,
    message: string,
    readonly retryable = true,
    /** A checkout creation's refusal, when the provider's code says which (never set on a retryable error). */
    readonly refusal?: CheckoutRefusal,
    /** The provider's own error code (WeChat `code`, Alipay `sub_code`), when it answered one. */
    readonly providerCode?: string,
  ) {
    super(`${provider} ${operation}: ${message}`);
    this.name = 'ProviderCallError';
  }
}

/**
 * The provider asked us to slow down (WeChat `429 FREQUENCY_LIMITED`, Alipay's busy answer), or
 * this merchant's own call rate had no room: nothing was decided, so the call is made again later.
 * Never a failure of the payment it was about.
 */
export class ProviderBusyError extends ProviderCallError {
  constructor(provider: ProviderName, operation: string, message: string) {
    super(provider, operation, message, true);
    this.name = 'ProviderBusyError';
  }
}

/**
 * One payment provider. Every provider module implements exactly this, so a fourth provider is
 * a folder (wire, signatures, api, callbacks, scenes, bill) plus its tests.
 */
export interface PaymentProvider {
  readonly name: ProviderName;
  /** Its scene table: the scenes it has, in order, the first its default. */
  readonly scenes: ReadonlyMap<PaymentScene, SceneSupport>;
  /** Creates the checkout at the provider (or builds it locally, signed); a provider refusal throws. */
  startCheckout(request: CheckoutRequest): Promise<StartedCheckout>;
  /** The front end's action for a started checkout, with fresh nonces and signatures where it has any. */
  checkoutAction(request: ActionRequest): PayAction;
  /**
   * Verifies a callback (signature, replay window, keys, decryption, merchant ids) and normalises
   * it. Amount checks against our payment record happen in the caller (see `checkAgainstPayment`).
   */
  verifyCallback(callback: RawCallback, now: Date): CallbackVerification;
  /** The provider's "received, stop retrying" answer. */
  acknowledge(): ProviderReply;
  /** The provider's failure answer; `retryable` picks a 5xx (provider retries) over a 4xx. */
  reject(message: string, retryable: boolean): ProviderReply;
  /**
   * Asks the provider for the payment's state (lost callbacks, expiry). Left out by a provider
   * without a query (the bank): then its signed expiry is the only word.
   */
  queryPayment?(paymentId: string, now: Date): Promise<ProviderPaymentState>;
  /** Closes the payment at the provider so it can no longer be paid. Left out by a provider without a close (the bank). */
  closePayment?(paymentId: string, now: Date): Promise<CloseOutcome>;
  /**
   * Asks the provider to refund (part of) a paid payment. Resolves with the refund's state (a
   * definite refusal is `failed`); throws a retryable ProviderCallError when the outcome is unknown,
   * after which the same request (same refundId) may be sent again or the refund queried.
   */
  refund(request: RefundRequest): Promise<ProviderRefundState>;
  /**
   * Sends an abnormal refund again to another account. Left out by a provider without such a call
   * (Alipay, the bank): a person settles those offline. Throws a ProviderCallError when the outcome is unknown.
   */
  retryAbnormalRefund?(request: AbnormalRefundRetry): Promise<AbnormalRefundRetryAnswer>;
  /** Asks the provider for a refund's state. Throws a retryable ProviderCallError when it cannot tell. */
  queryRefund(request: { refundId: string; paymentId: string; now: Date }): Promise<ProviderRefundState>;
  /**
   * Downloads, verifies (signature or digest, as the provider offers) and parses the day's bill.
   * Throws a retryable ProviderCallError when it cannot be fetched or fails verification, and a
   * BillFormatError when the file does not read as the provider's format.
   */
  fetchBill(request: { date: BusinessDate; now: Date }): Promise<BillFetch>;
}
