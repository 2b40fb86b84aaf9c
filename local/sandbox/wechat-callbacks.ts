import { createCipheriv, randomUUID } from 'node:crypto';
import { toBeijingRfc3339, type WechatCallbackEnvelope } from '../../src/providers/wechat';
import type { OutboundCallback, SandboxCheckout, SandboxRefund } from './types';
import { REFUND_STATUS } from './wechat-refunds';
import {
  type DecidedState,
  type WechatSandboxKeys,
  randomAlphanumeric,
  TRADE_STATE_DESC,
  transactionIdOf,
  transactionOf,
  wechatpayHeaders,
} from './wechat-signing';

/** The callbacks the WeChat sandbox sends: TRANSACTION.* and REFUND.* envelopes, the resource AES-256-GCM encrypted. */

const EVENT_TYPE: Readonly<Record<DecidedState, string>> = {
  paid: 'TRANSACTION.SUCCESS',
  failed: 'TRANSACTION.PAYERROR',
  closed: 'TRANSACTION.CLOSED',
};

/** AES-256-GCM with the APIv3 key; ciphertext = base64(encrypted bytes ‖ 16-byte tag). */
function encryptResource(
  apiV3Key: string,
  plaintext: string,
  originalType: 'transaction' | 'refund',
): WechatCallbackEnvelope['resource'] {
  const associatedData = originalType;
  const nonce = randomAlphanumeric(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: encrypted.toString('base64'),
    nonce,
    associated_data: associatedData,
    original_type: originalType,
  };
}

/** Signed and ready to POST: the envelope around an encrypted resource. */
function signedEnvelope(
  keys: WechatSandboxKeys,
  url: string,
  envelope: WechatCallbackEnvelope,
  now: Date,
): OutboundCallback {
  const body = JSON.stringify(envelope);
  return { url, headers: { 'Content-Type': 'application/json', ...wechatpayHeaders(keys, body, now) }, body };
}

export function buildCallback(
  keys: WechatSandboxKeys,
  checkout: SandboxCheckout,
  now: Date,
): OutboundCallback | undefined {
  if (checkout.state === 'pending') return undefined;
  const transaction = transactionOf(keys, checkout, now);
  const envelope: WechatCallbackEnvelope = {
    id: checkout.notificationId ?? randomUUID(),
    create_time: toBeijingRfc3339(now),
    event_type: EVENT_TYPE[checkout.state],
    resource_type: 'encrypt-resource',
    summary: TRADE_STATE_DESC[checkout.state],
    resource: encryptResource(keys.apiV3Key, JSON.stringify(transaction), 'transaction'),
  };
  return signedEnvelope(keys, checkout.notifyUrl, envelope, now);
}

const REFUND_EVENT: Readonly<
  Record<Exclude<SandboxRefund['state'], 'processing'>, { eventType: string; summary: string }>
> = {
  succeeded: { eventType: 'REFUND.SUCCESS', summary: '退款成功' },
  failed: { eventType: 'REFUND.CLOSED', summary: '退款关闭' },
  abnormal: { eventType: 'REFUND.ABNORMAL', summary: '退款异常' },
};

/** REFUND.SUCCESS / CLOSED / ABNORMAL: the refund resource has no appid. Processing is never pushed. */
export function buildRefundCallback(
  keys: WechatSandboxKeys,
  checkout: SandboxCheckout,
  refund: SandboxRefund,
  now: Date,
): OutboundCallback | undefined {
  if (refund.state === 'processing') return undefined;
  const resource = {
    mchid: keys.mchid,
    out_trade_no: checkout.paymentId,
    transaction_id: transactionIdOf(checkout),
    out_refund_no: refund.refundId ?? refund.key,
    refund_id: refund.key,
    refund_status: REFUND_STATUS[refund.state],
    ...(refund.state === 'succeeded' ? { success_time: toBeijingRfc3339(refund.settledAt ?? now) } : {}),
    user_received_account: '支付用户零钱',
    amount: {
      total: checkout.amount,
      refund: refund.amount,
      payer_total: checkout.amount,
      payer_refund: refund.amount,
    },
  };
  const { eventType, summary } = REFUND_EVENT[refund.state];
  const envelope: WechatCallbackEnvelope = {
    id: refund.notificationId,
    create_time: toBeijingRfc3339(now),
    event_type: eventType,
    resource_type: 'encrypt-resource',
    summary,
    resource: encryptResource(keys.apiV3Key, JSON.stringify(resource), 'refund'),
  };
  return signedEnvelope(keys, refund.notifyUrl ?? checkout.notifyUrl, envelope, now);
}
