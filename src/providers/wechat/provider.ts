import { CURRENCY, assertFen } from '../../domain/money';
import type { WechatConfig } from '../config';
import {
  DEFAULT_PROVIDER_HTTP,
  providerSender,
  type ProviderHttpConfig,
  type ProviderSender,
  type FetchLike,
} from '../kit/http';
import type { PayUrlRequest, PaymentProvider, ProviderPaymentState } from '../../core/payments/provider';
import { jsonReply } from '../kit/replies';
import {
  callError,
  checkQueriedTransaction,
  describeAnswer,
  fetchBill,
  paymentStateOf,
  refundRequestBody,
  refundStateOf,
  refusalOf,
  send,
  unexpectedAnswer,
} from './api';
import { loadKeys, verifyWechatCallback, type WechatKeys } from './callbacks';
import { parseJson } from '../kit/parse';
import {
  type WechatNativeOrderRequest,
  NativeOrderResponseSchema,
  WechatTransactionSchema,
  toBeijingRfc3339,
} from './wire';

export interface WechatProviderOptions {
  config: WechatConfig;
  fetch: FetchLike;
  http?: ProviderHttpConfig;
}

/** What every call uses: the configuration, its keys loaded once, the bounded sender. */
interface Wechat {
  config: WechatConfig;
  keys: WechatKeys;
  sender: ProviderSender;
}

const orderPath = (paymentId: string) => `/v3/pay/transactions/out-trade-no/${encodeURIComponent(paymentId)}`;

export function createWechatProvider({
  config,
  fetch,
  http = DEFAULT_PROVIDER_HTTP,
}: WechatProviderOptions): PaymentProvider {
  const keys = loadKeys(config);
  const sender = providerSender('wechat', fetch, http);
  const wechat: Wechat = { config, keys, sender };

  return {
    name: 'wechat',
    createPayUrl: (request) => createPayUrl(wechat, request),
    verifyCallback: (callback, now) =>
      verifyWechatCallback(config, keys.platformKeys, callback.headers, callback.body, now),
    acknowledge: () => ({ statusCode: 204, headers: {}, body: '' }),
    reject: (message, retryable) => jsonReply(retryable ? 500 : 400, { code: 'FAIL', message }),
    queryPayment: (paymentId, now) => queryPayment(wechat, paymentId, now),

    async closePayment(paymentId, now) {
      const body = JSON.stringify({ mchid: config.mchid });
      const answer = await send(config, keys, sender, 'closePayment', {
        method: 'POST',
        path: `${orderPath(paymentId)}/close`,
        body,
        now,
      });
      if (answer.status !== 204) throw unexpectedAnswer('closePayment', answer);
    },

    // A 200 means accepted, not done: its status is usually PROCESSING, settled by a REFUND.*
    // notification or a query. The same out_refund_no again answers that refund's current state.
    async refund(request) {
      const body = JSON.stringify(refundRequestBody(request));
      const answer = await send(config, keys, sender, 'refund', {
        method: 'POST',
        path: '/v3/refund/domestic/refunds',
        body,
        now: request.now,
      });
      if (answer.status === 200) return refundStateOf('refund', answer.body, request);
      const refusal = refusalOf(answer);
      if (refusal) return refusal;
      // Anything else (5xx, 429, an unexpected status) leaves the outcome unknown.
      throw callError('refund', describeAnswer(answer));
    },

    async queryRefund({ refundId, paymentId, now }) {
      const path = `/v3/refund/domestic/refunds/${encodeURIComponent(refundId)}`;
      const answer = await send(config, keys, sender, 'queryRefund', { method: 'GET', path, body: '', now });
      if (answer.status === 404 && answer.errorCode === 'RESOURCE_NOT_EXISTS')
        return { status: 'not_found', providerStatus: 'RESOURCE_NOT_EXISTS' };
      if (answer.status === 200) return refundStateOf('queryRefund', answer.body, { refundId, paymentId });
      throw callError('queryRefund', describeAnswer(answer));
    },
    fetchBill: ({ date, now }) => fetchBill(config, keys, sender, date, now),
  };
}

/** A Native order: WeChat answers the code_url the customer's app scans. */
async function createPayUrl(
  { config, keys, sender }: Wechat,
  { payment, notifyUrl, now }: PayUrlRequest,
): Promise<{ payUrl: string }> {
  const order: WechatNativeOrderRequest = {
    appid: config.appid,
    mchid: config.mchid,
    description: payment.description,
    out_trade_no: payment.paymentId,
    notify_url: notifyUrl,
    amount: { total: assertFen(payment.amount), currency: CURRENCY },
    time_expire: toBeijingRfc3339(payment.expiresAt),
  };
  const answer = await send(config, keys, sender, 'createPayUrl', {
    method: 'POST',
    path: '/v3/pay/transactions/native',
    body: JSON.stringify(order),
    now,
  });
  if (answer.status !== 200) throw unexpectedAnswer('createPayUrl', answer);
  const created = parseJson(answer.body, NativeOrderResponseSchema);
  if (!created) throw callError('createPayUrl', 'answer has no code_url', false);
  return { payUrl: created.code_url };
}

async function queryPayment(
  { config, keys, sender }: Wechat,
  paymentId: string,
  now: Date,
): Promise<ProviderPaymentState> {
  const path = `${orderPath(paymentId)}?mchid=${encodeURIComponent(config.mchid)}`;
  const answer = await send(config, keys, sender, 'queryPayment', { method: 'GET', path, body: '', now });
  if (answer.status === 404 && answer.errorCode === 'ORDER_NOT_EXIST')
    return { status: 'not_found', providerStatus: 'ORDER_NOT_EXIST' };
  if (answer.status !== 200) throw unexpectedAnswer('queryPayment', answer);
  const transaction = parseJson(answer.body, WechatTransactionSchema);
  if (!transaction) throw callError('queryPayment', 'answer is not a WeChat transaction', false);
  checkQueriedTransaction(config, paymentId, transaction);
  return paymentStateOf(transaction);
}
