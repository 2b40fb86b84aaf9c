import type { WechatConfig } from '../config';
import { DEFAULT_PROVIDER_HTTP, providerSender, type ProviderHttpConfig, type FetchLike } from '../kit/http';
import type { PaymentProvider, ProviderPaymentState } from '../../core/payments/provider';
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
import { retryAbnormalRefund } from './abnormal-refund';
import { loadKeys, verifyWechatCallback } from './callbacks';
import { checkoutAction, startCheckout, type Wechat } from './checkout';
import { parseJson } from '../kit/parse';
import { wechatSceneTable } from './scenes';
import { WechatTransactionSchema } from './wire';

export interface WechatProviderOptions {
  config: WechatConfig;
  fetch: FetchLike;
  http?: ProviderHttpConfig;
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
    scenes: wechatSceneTable(config),
    startCheckout: (request) => startCheckout(wechat, request),
    checkoutAction: (request) => checkoutAction(wechat, request),
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
      return 'closed';
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
    retryAbnormalRefund: (request) => retryAbnormalRefund(wechat, request),
    fetchBill: ({ date, now }) => fetchBill(config, keys, sender, date, now),
  };
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
  return paymentStateOf(config, transaction);
}
