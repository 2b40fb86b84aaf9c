import type { RefusalArms } from './refusals';
import type { BusinessDate } from '../../src/domain/bill';
import type { Currency, Fen } from '../../src/domain/money';
import type { ProviderName } from '../../src/core/payments/provider';

/**
 * The sandbox stands in for the three providers on one machine. Each provider has a simulator
 * module (this interface) that speaks that provider's real wire format from the provider's side:
 * it checks the merchant's signed requests, answers them signed, and signs the callbacks it sends.
 */

/** A checkout the sandbox holds, as the provider would. */
export interface SandboxCheckout {
  provider: ProviderName;
  paymentId: string;
  amount: Fen;
  currency: Currency;
  description: string;
  notifyUrl: string;
  returnUrl?: string;
  expiresAt: string;
  /** pending: awaiting the customer; paid / failed / closed: decided. */
  state: 'pending' | 'paid' | 'failed' | 'closed';
  transactionId?: string;
  paidAt?: string;
  /** Id the provider uses for the notification it sends about this checkout's outcome. */
  notificationId?: string;
  /** Where it is paid, when not the provider's first flow (WeChat Native, Alipay's pay page). */
  scene?: SandboxScene;
}

/** A checkout's scene as the provider holds it (SCENES.md). */
export interface SandboxScene {
  /** WeChat's trade_type (JSAPI, MWEB, APP; NATIVE when no scene) or Alipay's method. */
  tradeType: string;
  /** The appid the order was made under (WeChat) or the mini-program's op_app_id (Alipay). */
  appid?: string;
  /** The payer the order is bound to: WeChat's openid, Alipay's buyer_open_id. */
  payer?: string;
  /** WeChat prepay_id and when it was issued (it lives 2 hours); H5's is inside its h5_url. */
  prepayId?: string;
  prepayIssuedAt?: string;
  /** WeChat H5's scene_info.payer_client_ip. */
  clientIp?: string;
  /** Alipay QR: no trade exists until a buyer scans the code (query and close answer ACQ.TRADE_NOT_EXIST). */
  unscanned?: boolean;
}

/**
 * What a client stand-in (WeChat's JS bridge and OpenSDK, Alipay's app SDK and my.tradePay) made of
 * what the shop's front end handed it: refused, in that client's words; or accepted, and the
 * customer's decision (only `pay` decides: a cancelled cashier leaves the order payable).
 */
export type ClientVerdict =
  | { accepted: false; statusCode: number; answer: Record<string, unknown> }
  | { accepted: true; paymentId: string; decision: CustomerDecision; answer: Record<string, unknown> };

export interface CheckoutStore {
  get(paymentId: string): SandboxCheckout | undefined;
  put(checkout: SandboxCheckout): void;
  /** Absolute URL of the sandbox checkout page for a payment (the "pay URL" a customer opens). */
  checkoutUrl(paymentId: string): string;
  /** The refunds the provider made on the checkouts it holds. */
  readonly refunds: RefundLedger;
  /**
   * What goes in one provider's bill of a Beijing business day: the checkouts paid in it and the
   * refunds that ended in it (or, still processing, were made in it), each oldest first.
   */
  activity(provider: ProviderName, date: BusinessDate): { payments: SandboxCheckout[]; refunds: SandboxRefund[] };
}

/** SANDBOX_REFUND_OUTCOME: what the providers do with a refund (`silent`: succeed, notify nobody). */
export const SANDBOX_REFUND_OUTCOMES = ['succeed', 'fail', 'abnormal', 'silent'] as const;
export type SandboxRefundOutcome = (typeof SANDBOX_REFUND_OUTCOMES)[number];

/** A refund as the provider holds it. */
export interface SandboxRefund {
  /** The provider's own id for the refund (WeChat refund_id; Alipay has none on the wire; the bank's refund_id). */
  key: string;
  /** The merchant's refund number (out_refund_no, out_request_no, refund_id); for a console refund,
   * the provider's own where it gives one (WeChat, bank), else none (Alipay). */
  refundId?: string;
  paymentId: string;
  amount: Fen;
  reason?: string;
  /** Where the refund's notification goes when not the payment's notify URL (WeChat's per-refund notify_url). */
  notifyUrl?: string;
  state: 'processing' | 'succeeded' | 'failed' | 'abnormal';
  createdAt: string;
  /** When it reached its end state. */
  settledAt?: string;
  /** Everything refunded on the payment once this refund succeeded, this one included (Alipay's refund_fee). */
  refundedAfter?: Fen;
  /** Made on the provider's console, not through its API. */
  external: boolean;
  /** Whether the provider sends a notification once the refund has ended. */
  notify: boolean;
  /** Id of that notification, fixed so every retry repeats it. */
  notificationId: string;
}

export type RefundRefusal =
  | 'not_found' // the provider holds no such payment
  | 'not_paid' // the payment was never paid
  | 'exceeds_refundable' // more than what is paid and not yet refunded
  | 'number_reused'; // the merchant's refund number again, with another amount

export interface RefundOpening {
  paymentId: string;
  /** The merchant's refund number; none for a console refund. */
  refundId?: string;
  amount: Fen;
  reason?: string;
  notifyUrl?: string;
  external?: boolean;
  /** false: the provider sends no notification for this refund (a console refund with notify: false). */
  notify?: boolean;
  /** now: ends at once (Alipay answers refunds synchronously); later: the sandbox ends it shortly
   * (WeChat, bank: the API answers "processing" first); never: it stays processing. */
  settle: 'now' | 'later' | 'never';
}

export interface RefundLedger {
  readonly outcome: SandboxRefundOutcome;
  /** The payment's refunds, oldest first. */
  list(paymentId: string): readonly SandboxRefund[];
  /** By the merchant's refund number, which is unique across its payments (WeChat queries by it alone). */
  find(refundId: string): SandboxRefund | undefined;
  /** Succeeded refunds of the payment. */
  refundedAmount(paymentId: string): Fen;
  /** What may still be refunded: the paid amount less every refund that has not failed. */
  refundableAmount(paymentId: string): Fen;
  /**
   * A refund of a paid checkout. The merchant's refund number again, for the same payment and
   * amount, is that same refund (`existing`), never a second one.
   */
  open(
    opening: RefundOpening,
    now: Date,
  ): { result: 'opened' | 'existing'; refund: SandboxRefund } | { result: 'refused'; refusal: RefundRefusal };
  /**
   * An abnormal refund sent again to another account (WeChat's apply-abnormal-refund): processing
   * once more, then it succeeds shortly and notifies, whatever SANDBOX_REFUND_OUTCOME says.
   */
  resubmit(paymentId: string, key: string): SandboxRefund;
  /** Ends a processing refund, in `state` or else as SANDBOX_REFUND_OUTCOME says; then notifies. */
  settle(
    paymentId: string,
    key: string,
    now: Date,
    state?: Exclude<SandboxRefund['state'], 'processing'>,
  ): SandboxRefund;
}

/** A request the merchant (our provider module) sent to the provider, base path stripped. */
export interface SandboxRequest {
  method: string;
  /** Path below the provider's base, e.g. `/v3/pay/transactions/native` or `/gateway.do`. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: string;
  /** The caller's IP as the socket saw it (WeChat H5 checks it against payer_client_ip). */
  sourceIp?: string;
}

export interface SandboxResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  /** A binary answer (a bill file): sent instead of `body`. */
  bytes?: Buffer;
}

/** A callback the provider sends to the merchant's notify URL, ready to POST. */
export interface OutboundCallback {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface ProviderSimulator {
  readonly name: ProviderName;
  /** Answers the merchant's calls to this provider's API (create checkout, query, close, pay-page entry). */
  handle(request: SandboxRequest, store: CheckoutStore, now: Date): Promise<SandboxResponse>;
  /**
   * The callback the provider sends once `checkout.state` is decided, in its real format and
   * signed with the provider-side keys. Undefined when this provider would not push that outcome.
   */
  buildCallback(checkout: SandboxCheckout, now: Date): OutboundCallback | undefined;
  /**
   * The notification the provider sends once `refund` has ended, in its real format and signed.
   * Undefined when this provider sends none for that end (Alipay notifies only a success).
   */
  buildRefundCallback(checkout: SandboxCheckout, refund: SandboxRefund, now: Date): OutboundCallback | undefined;
  /** Whether a response from the merchant's callback endpoint counts as acknowledged for this provider. */
  isAcknowledged(statusCode: number, body: string): boolean;
  /** The client stand-ins (`POST /sandbox/client/<provider>/<client>`): checks what the app or page was handed. */
  client?(client: string, body: string, store: CheckoutStore, now: Date): ClientVerdict;
  /** Refusals armed for the next checkout creations (`POST /sandbox/refusals`, refusals.ts). */
  refusals?: RefusalArms;
}

/** What the customer does on the sandbox checkout page. */
export const CUSTOMER_DECISIONS = ['pay', 'fail', 'cancel'] as const;
export type CustomerDecision = (typeof CUSTOMER_DECISIONS)[number];

/** One attempt to deliver a callback: the merchant's HTTP status, or why none came back. */
export type CallbackDelivery = { attempt: number; at: string; acknowledged: boolean } & (
  { statusCode: number; error?: undefined } | { statusCode?: undefined; error: string }
);

export type ConsoleRefund =
  | { result: 'refunded'; refund: SandboxRefund; refundedAmount: number; refundableAmount: number }
  | { result: 'not_found'; message: string }
  | { result: RefundRefusal; message: string };

export type Decision =
  | { result: 'decided'; checkout: SandboxCheckout; delivery: CallbackDelivery | undefined; retrying: boolean }
  | { result: 'not_found'; message: string }
  | { result: 'already_decided' | 'expired'; checkout: SandboxCheckout; message: string };

/** Node's global fetch fits; so does the providers' FetchLike (it ignores what it does not know). */
export type CallbackFetch = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; redirect: 'manual'; signal: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface SandboxHttpRequest {
  method: string;
  /** The full URL path, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: string;
  sourceIp?: string;
}

export interface Sandbox {
  /** The answer to a request under `/sandbox`, or undefined for any other path. */
  handle(request: SandboxHttpRequest): Promise<SandboxResponse | undefined>;
  readonly store: CheckoutStore;
  /** `notify: false` decides without sending the callback: a callback lost for good. */
  /** `amount` (pay only): the provider takes these fen rather than the checkout's (a mismatched payment, parked for review). */
  decide(
    paymentId: string,
    decision: CustomerDecision,
    options?: { notify?: boolean; amount?: Fen },
  ): Promise<Decision>;
  /** A refund made on the provider's console (outside the merchant's system); it succeeds. */
  refund(paymentId: string, amount: number, options?: { notify?: boolean }): ConsoleRefund;
  /** Every callback attempt for a payment, oldest first. */
  deliveries(paymentId: string): CallbackDelivery[];
  /** Every refund notification attempt for a payment's refunds, oldest first. */
  refundDeliveries(paymentId: string): (CallbackDelivery & { refundKey: string })[];
  /** Cancels pending retries and waits for attempts under way. */
  stop(): Promise<void>;
}
