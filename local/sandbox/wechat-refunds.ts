import { constants, privateDecrypt } from 'node:crypto';
import { CURRENCY } from '../../src/domain/money';
import { toBeijingRfc3339, type WechatRefundStatus } from '../../src/providers/wechat';
import type { CheckoutStore, SandboxCheckout, SandboxRefund, SandboxRequest, SandboxResponse } from './types';
import { type WechatSandboxKeys, answer, error, transactionIdOf, wechatCheckout } from './wechat-signing';

/** The WeChat sandbox's refund answers, and the re-submission of an abnormal refund. */

export const ABNORMAL_REFUND_PATH = /^\/v3\/refund\/domestic\/refunds\/([^/]+)\/apply-abnormal-refund$/;

export const REFUND_STATUS: Readonly<Record<SandboxRefund['state'], WechatRefundStatus>> = {
  processing: 'PROCESSING',
  succeeded: 'SUCCESS',
  failed: 'CLOSED',
  abnormal: 'ABNORMAL',
};

/** The refund as the create, query and apply-abnormal-refund calls answer it. */
export function refundOf(checkout: SandboxCheckout, refund: SandboxRefund): Record<string, unknown> {
  return {
    refund_id: refund.key,
    out_refund_no: refund.refundId ?? refund.key,
    transaction_id: transactionIdOf(checkout),
    out_trade_no: checkout.paymentId,
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    ...(refund.state === 'succeeded' ? { success_time: toBeijingRfc3339(refund.settledAt ?? refund.createdAt) } : {}),
    create_time: toBeijingRfc3339(refund.createdAt),
    status: REFUND_STATUS[refund.state],
    funds_account: 'AVAILABLE',
    amount: {
      total: checkout.amount,
      refund: refund.amount,
      from: [],
      payer_total: checkout.amount,
      payer_refund: refund.amount,
      settlement_refund: refund.amount,
      settlement_total: checkout.amount,
      discount_refund: 0,
      currency: CURRENCY,
    },
    promotion_detail: [],
  };
}

/** A sensitive field as WeChat reads it: RSA-OAEP (SHA-1) with the platform private key; undefined when it does not decrypt. */
function decryptSensitive(keys: WechatSandboxKeys, ciphertext: unknown): string | undefined {
  if (typeof ciphertext !== 'string' || ciphertext === '') return undefined;
  try {
    return privateDecrypt(
      { key: keys.platformPrivateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
      Buffer.from(ciphertext, 'base64'),
    ).toString('utf8');
  } catch {
    return undefined;
  }
}

/** What is wrong with the re-submission's body (WeChat's PARAM_ERROR message), or undefined. */
function paramError(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  body: Record<string, unknown>,
  refund: SandboxRefund,
) {
  if (body.out_refund_no !== refund.refundId) return 'out_refund_no does not match the refund';
  if (body.type === 'MERCHANT_BANK_CARD') return undefined;
  if (body.type !== 'USER_BANK_CARD') return 'type must be USER_BANK_CARD or MERCHANT_BANK_CARD';
  if (typeof body.bank_type !== 'string' || !/^[A-Z0-9_]{2,32}$/.test(body.bank_type)) return 'bank_type is required';
  if (request.headers['wechatpay-serial'] !== keys.platformSerial)
    return 'Wechatpay-Serial must name the platform key the sensitive fields are encrypted with';
  const account = decryptSensitive(keys, body.bank_account);
  if (!account || !/^\d{8,30}$/.test(account)) return 'bank_account does not decrypt to a card number';
  if (!decryptSensitive(keys, body.real_name)) return 'real_name does not decrypt';
  return undefined;
}

/**
 * POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund: only an ABNORMAL refund, by
 * WeChat's refund_id, with the merchant's out_refund_no; the card and name must decrypt with the
 * platform key. Accepted: PROCESSING, then SUCCESS with its REFUND.SUCCESS notification.
 */
export function applyAbnormalRefund(
  keys: WechatSandboxKeys,
  request: SandboxRequest,
  providerRefundId: string,
  store: CheckoutStore,
  now: Date,
): SandboxResponse {
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    return error(keys, 400, 'PARAM_ERROR', 'body is not JSON', now);
  }
  const refundId = (body as { out_refund_no?: unknown } | null)?.out_refund_no;
  const refund = typeof refundId === 'string' ? store.refunds.find(refundId) : undefined;
  const checkout = refund && wechatCheckout(store, refund.paymentId);
  if (!refund || !checkout || refund.key !== providerRefundId)
    return error(keys, 404, 'RESOURCE_NOT_EXISTS', '退款单不存在', now);
  const problem = paramError(keys, request, body as Record<string, unknown>, refund);
  if (problem) return error(keys, 400, 'PARAM_ERROR', problem, now);
  if (refund.state !== 'abnormal') return error(keys, 400, 'INVALID_REQUEST', '退款单状态不是退款异常', now);
  return answer(keys, 200, refundOf(checkout, store.refunds.resubmit(refund.paymentId, refund.key)), now);
}
