import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import '../../core/kernel/zod-english';
import { BillFormatError, isBusinessDate, type BusinessDate } from '../../domain/bill';
import { CURRENCY, assertFen } from '../../domain/money';
import type { WechatConfig } from '../config';
import { parseWechatBill } from './bill';
import { isRetryableStatus, type ProviderSender } from '../kit/http';
import {
  ProviderBusyError,
  ProviderCallError,
  type BillFetch,
  type ProviderPaymentState,
  type ProviderRefundState,
  type RefundRequest,
} from '../../core/payments/provider';
import { type WechatKeys, wechatpayHeaders } from './callbacks';
import { configuredAppids, tradeTypeOf } from './scenes';
import { authorization, verifyWechatpaySignature } from './signatures';
import { parseJson } from '../kit/parse';
import { checkRefundAnswer, type ExpectedRefund } from '../kit/refund-answers';
import {
  type WechatRefundRequest,
  type WechatTransaction,
  ErrorResponseSchema,
  REFUND_REASON_MAX_CHARACTERS,
  WECHAT_QUERY_STATUSES,
  WECHAT_CHECKOUT_REFUSALS,
  WECHAT_REFUND_OUTCOMES,
  WechatRefundSchema,
  isWechatRefundStatus,
  isWechatTradeState,
  toIsoUtc,
} from './wire';

interface VerifiedAnswer {
  status: number;
  body: string;
  /** The answer's bytes, when the request asked for them (bill files). */
  bytes: Buffer | undefined;
  /** WeChat's error code from an error body, when there is one. */
  errorCode: string | undefined;
  /** WeChat's Request-ID: what its support asks for about a failed call. */
  requestId: string | undefined;
}

type Operation =
  'createPayUrl' | 'queryPayment' | 'closePayment' | 'refund' | 'queryRefund' | 'retryAbnormalRefund' | 'fetchBill';

export function callError(operation: Operation, message: string, retryable = true): ProviderCallError {
  return new ProviderCallError('wechat', operation, message, retryable);
}

export function describeAnswer({ status, errorCode, requestId }: VerifiedAnswer): string {
  return `HTTP ${status}${errorCode ? ` ${errorCode}` : ''}${requestId ? ` (Request-ID ${requestId})` : ''}`;
}

export function unexpectedAnswer(operation: Operation, answer: VerifiedAnswer): ProviderCallError {
  // 429 FREQUENCY_LIMITED (after the sender's own tries): the merchant is over WeChat's rate, ask later.
  if (answer.status === 429) return new ProviderBusyError('wechat', operation, describeAnswer(answer));
  return callError(operation, describeAnswer(answer), isRetryableStatus(answer.status));
}

/** A prepay WeChat did not answer with 200: its code says whether asking again can help, and why not. */
export function checkoutRefused(answer: VerifiedAnswer): ProviderCallError {
  const retryable = isRetryableStatus(answer.status);
  const refusal = retryable || !answer.errorCode ? undefined : WECHAT_CHECKOUT_REFUSALS[answer.errorCode];
  const message = parseJson(answer.body, ErrorResponseSchema)?.message;
  return new ProviderCallError(
    'wechat',
    'createPayUrl',
    `${describeAnswer(answer)}${message ? `: ${message}` : ''}`,
    retryable,
    refusal,
    answer.errorCode,
  );
}

/**
 * Sends one signed request (retried and timed out by `sender`). `path` starts at `/v3`: that is
 * what WeChat signs. `apiBase` may carry a path prefix (the local sandbox serves under
 * `/sandbox/wechat`); the prefix is sent but not signed, because the real API's paths start at
 * `/v3` and the sandbox strips its base first.
 *
 * Every 2xx answer must be signed by the platform and verify (same rules as callbacks), except a
 * bill file (`fileDownload`: WeChat does not sign it, its SHA1 is checked instead). An error
 * answer is verified when it carries Wechatpay-* headers; WeChat does not promise to sign errors
 * (the official SDKs check the status before the signature), so an unsigned one is read as is.
 */
export async function send(
  config: WechatConfig,
  keys: WechatKeys,
  sender: ProviderSender,
  operation: Operation,
  request: {
    method: 'GET' | 'POST';
    path: string;
    body: string;
    now: Date;
    fileDownload?: boolean;
    /** Headers of this call only (Wechatpay-Serial: the platform key a body's sensitive fields are encrypted with). */
    headers?: Record<string, string>;
  },
): Promise<VerifiedAnswer> {
  const { method, path, body, now, fileDownload = false } = request;
  const response = await sender(operation, () => ({
    url: `${apiBaseOf(config)}${path}`,
    method,
    headers: {
      Authorization: authorization(config, keys.merchantKey, method, path, body, now),
      Accept: 'application/json',
      'Content-Type': 'application/json',
      // WeChat refuses requests without a User-Agent.
      'User-Agent': 'payments-backend wechatpay-v3',
      ...request.headers,
    },
    ...(method === 'POST' ? { body } : {}),
    ...(fileDownload ? { binary: true } : {}),
  }));

  const answerHeaders = wechatpayHeaders((name) => response.headers.get(name) ?? undefined);
  const isSuccess = response.status >= 200 && response.status < 300;
  if ((isSuccess && !fileDownload) || answerHeaders.signature !== undefined) {
    const check = verifyWechatpaySignature(answerHeaders, Buffer.from(response.body, 'utf8'), keys.platformKeys, now);
    if (!check.ok) throw callError(operation, `answer refused (${check.reason}): ${check.detail}`);
  }
  const errorCode = isSuccess ? undefined : parseJson(response.body, ErrorResponseSchema)?.code;
  return {
    status: response.status,
    body: response.body,
    bytes: response.bytes,
    errorCode,
    requestId: response.headers.get('request-id') ?? undefined,
  };
}

function apiBaseOf(config: WechatConfig): string {
  return config.apiBase.replace(/\/+$/, '');
}

/** A queried transaction must be the order we asked about, for our merchant. */
export function checkQueriedTransaction(config: WechatConfig, paymentId: string, transaction: WechatTransaction): void {
  if (transaction.mchid !== config.mchid || !configuredAppids(config).has(transaction.appid)) {
    throw callError('queryPayment', 'answer names another merchant (mchid / appid)', false);
  }
  if (transaction.out_trade_no !== paymentId)
    throw callError('queryPayment', 'answer is for another out_trade_no', false);
}

export function paymentStateOf(config: WechatConfig, transaction: WechatTransaction): ProviderPaymentState {
  const state = transaction.trade_state;
  if (!isWechatTradeState(state)) throw callError('queryPayment', `unknown trade_state ${state}`, false);
  const status = WECHAT_QUERY_STATUSES[state];
  if (status !== 'paid') return { status, providerStatus: state };

  const { transaction_id: providerTransactionId, success_time: successTime, amount } = transaction;
  if (!providerTransactionId || !successTime)
    throw callError('queryPayment', `${state} without transaction_id or success_time`, false);
  if (amount.currency !== CURRENCY)
    throw callError('queryPayment', `currency ${amount.currency}, expected ${CURRENCY}`, false);
  return {
    status,
    providerTransactionId,
    amount: amount.total,
    currency: CURRENCY,
    paidAt: toIsoUtc(successTime),
    providerStatus: state,
    ...tradeTypeOf(config, transaction),
  };
}

/**
 * A refund answer about the refund we asked for → its state. Anything we cannot read or that names
 * another refund leaves the outcome unknown: a retryable error, never `failed`.
 */
export function refundStateOf(
  operation: 'refund' | 'queryRefund' | 'retryAbnormalRefund',
  body: string,
  expected: ExpectedRefund,
): ProviderRefundState {
  const refund = parseJson(body, WechatRefundSchema);
  if (!refund) throw callError(operation, 'answer is not a WeChat refund');
  checkRefundAnswer('wechat', operation, expected, {
    refundId: refund.out_refund_no,
    paymentId: refund.out_trade_no,
    amount: refund.amount.refund,
    paymentAmount: refund.amount.total,
  });
  const { status, refund_id: providerRefundId } = refund;
  if (!isWechatRefundStatus(status)) throw callError(operation, `unknown refund status ${status}`);
  const outcome = WECHAT_REFUND_OUTCOMES[status];
  if (outcome === 'failed')
    return { status: 'failed', providerStatus: status, reason: 'WeChat closed the refund (CLOSED)' };
  if (outcome !== 'succeeded') return { status: outcome, providerRefundId, providerStatus: status };
  if (!refund.success_time) throw callError(operation, 'SUCCESS without success_time');
  checkRefundAnswer('wechat', operation, expected, { currency: refund.amount.currency });
  return {
    status: 'succeeded',
    providerRefundId,
    amount: refund.amount.refund,
    succeededAt: toIsoUtc(refund.success_time),
    providerStatus: status,
  };
}

/**
 * A 4xx with WeChat's error code is a definite refusal: nothing was refunded under that number
 * (PARAM_ERROR, INVALID_REQUEST such as an amount over the refundable one or the same
 * out_refund_no with other amounts, NOT_ENOUGH, USER_ACCOUNT_ABNORMAL, RESOURCE_NOT_EXISTS,
 * SIGN_ERROR...). 429 FREQUENCY_LIMITED is not a refusal: asked again later, it may pass.
 */
export function refusalOf(answer: VerifiedAnswer): ProviderRefundState | undefined {
  if (answer.status < 400 || answer.status >= 500 || answer.status === 429 || !answer.errorCode) return undefined;
  const message = parseJson(answer.body, ErrorResponseSchema)?.message;
  return {
    status: 'failed',
    providerStatus: answer.errorCode,
    reason: `${answer.errorCode}${message ? `: ${message}` : ''}`,
  };
}

export function refundRequestBody({
  refundId,
  paymentId,
  amount,
  paymentAmount,
  reason,
  notifyUrl,
}: RefundRequest): WechatRefundRequest {
  return {
    out_trade_no: paymentId,
    out_refund_no: refundId,
    ...(reason ? { reason: [...reason].slice(0, REFUND_REASON_MAX_CHARACTERS).join('') } : {}),
    notify_url: notifyUrl,
    amount: { refund: assertFen(amount), total: assertFen(paymentAmount), currency: CURRENCY },
  };
}

// Bills ------------------------------------------------------------------------------------------

/** The tradebill answer: where the day's file is (for 5 minutes) and the SHA1 of its content. */
const TradeBillSchema = z.object({
  hash_type: z.string().check(z.minLength(1)),
  hash_value: z.string().check(z.minLength(1)),
  download_url: z.url(),
});

/** `tradebill` error codes that are answers, not failures. */
const BILL_NOT_FETCHED: Readonly<Record<string, Exclude<BillFetch['status'], 'ready'>>> = {
  STATEMENT_CREATING: 'not_ready',
  NO_STATEMENT_EXIST: 'no_trades',
};

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * The part of download_url that is signed: what follows `apiBase` (path from `/v3` and query), as
 * for every other call. A download_url elsewhere is refused: our signed request goes nowhere
 * but WeChat's API.
 */
function signedDownloadPath(config: WechatConfig, downloadUrl: string): string {
  const base = apiBaseOf(config);
  if (!downloadUrl.startsWith(`${base}/`))
    throw callError('fetchBill', `download_url is not under the configured apiBase ${base}`, false);
  return downloadUrl.slice(base.length);
}

/**
 * The day's ALL bill: ask where it is (signed answer), download it (a signed GET; the file is not
 * signed), check its SHA1 against the signed hash_value, then read it. A failed download or a
 * hash that does not match is retryable: asking again gets a new URL and a new copy.
 */
export async function fetchBill(
  config: WechatConfig,
  keys: WechatKeys,
  sender: ProviderSender,
  date: BusinessDate,
  now: Date,
): Promise<BillFetch> {
  if (!isBusinessDate(date)) throw callError('fetchBill', `not a date: ${JSON.stringify(date)}`, false);
  const path = `/v3/bill/tradebill?bill_date=${date}&bill_type=ALL`;
  const answer = await send(config, keys, sender, 'fetchBill', { method: 'GET', path, body: '', now });
  const notFetched = answer.status === 400 && answer.errorCode ? BILL_NOT_FETCHED[answer.errorCode] : undefined;
  if (notFetched) return { status: notFetched, providerStatus: answer.errorCode ?? '' };
  if (answer.status !== 200) throw unexpectedAnswer('fetchBill', answer);
  const bill = parseJson(answer.body, TradeBillSchema);
  if (!bill) throw callError('fetchBill', 'answer has no hash_type, hash_value and download_url', false);
  if (bill.hash_type !== 'SHA1') throw callError('fetchBill', `hash_type ${bill.hash_type}, expected SHA1`, false);

  const file = await send(config, keys, sender, 'fetchBill', {
    method: 'GET',
    path: signedDownloadPath(config, bill.download_url),
    body: '',
    now,
    fileDownload: true,
  });
  if (file.status !== 200 || !file.bytes) throw callError('fetchBill', `download: ${describeAnswer(file)}`);
  // We never ask for tar_type=GZIP; a compressed file would need inflating before its hash is checked.
  if (file.bytes.subarray(0, 2).equals(GZIP_MAGIC))
    throw callError('fetchBill', 'the bill file is gzip-compressed, which is not supported', false);
  const sha1 = createHash('sha1').update(file.bytes).digest('hex');
  if (sha1 !== bill.hash_value.toLowerCase())
    throw callError('fetchBill', `the file's SHA1 ${sha1} is not hash_value ${bill.hash_value}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.bytes);
  } catch {
    throw new BillFormatError('the bill file is not UTF-8');
  }
  return { status: 'ready', bill: parseWechatBill(text, date) };
}
