import { constants, publicEncrypt, type KeyObject } from 'node:crypto';
import type {
  AbnormalRefundDestination,
  AbnormalRefundRetry,
  AbnormalRefundRetryAnswer,
} from '../../core/payments/provider';
import { callError, describeAnswer, refundStateOf, refusalOf, send } from './api';
import type { WechatKeys } from './callbacks';
import type { Wechat } from './checkout';

/**
 * WeChat's re-submission of an ABNORMAL refund (the original card cancelled or frozen):
 * `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund`, to the customer's bank
 * card (USER_BANK_CARD, with the card and the holder's name) or to the merchant's bank account
 * (MERCHANT_BANK_CARD). The answer is the refund, usually PROCESSING again; its end comes as a
 * REFUND.* notification or a query, like any refund's.
 */
export interface WechatAbnormalRefundRequest {
  out_refund_no: string;
  type: AbnormalRefundDestination['type'];
  /** WeChat's bank code, e.g. ICBC_DEBIT. */
  bank_type?: string;
  /** Encrypted with the platform key (RSA-OAEP), base64. */
  bank_account?: string;
  /** Encrypted like bank_account. */
  real_name?: string;
}

/**
 * Sensitive fields as WeChat requires them: RSA/ECB/OAEPWithSHA-1AndMGF1Padding with the platform
 * public key (certificate or WeChat Pay public key), base64; the request names that key in
 * Wechatpay-Serial.
 */
export function encryptSensitive(platformKey: KeyObject, plaintext: string): string {
  return publicEncrypt(
    { key: platformKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    Buffer.from(plaintext, 'utf8'),
  ).toString('base64');
}

/** The platform key sensitive fields are encrypted with: the first configured (list the newest first when rotating). */
export function encryptionKeyOf(keys: WechatKeys): { serial: string; key: KeyObject } {
  const first = keys.platformKeys.entries().next();
  if (first.done) throw callError('retryAbnormalRefund', 'no platform public key configured', false);
  const [serial, key] = first.value;
  return { serial, key };
}

export function abnormalRefundRequestBody(
  refundId: string,
  destination: AbnormalRefundDestination,
  platformKey: KeyObject,
): WechatAbnormalRefundRequest {
  if (destination.type === 'MERCHANT_BANK_CARD') return { out_refund_no: refundId, type: destination.type };
  return {
    out_refund_no: refundId,
    type: destination.type,
    bank_type: destination.bankType,
    bank_account: encryptSensitive(platformKey, destination.bankAccount),
    real_name: encryptSensitive(platformKey, destination.realName),
  };
}

export const abnormalRefundPath = (providerRefundId: string) =>
  `/v3/refund/domestic/refunds/${encodeURIComponent(providerRefundId)}/apply-abnormal-refund`;

/** 200: accepted (the refund as WeChat now holds it); a 4xx with WeChat's code: refused; anything else: unknown (throws). */
export async function retryAbnormalRefund(
  { config, keys, sender }: Wechat,
  request: AbnormalRefundRetry,
): Promise<AbnormalRefundRetryAnswer> {
  const { serial, key } = encryptionKeyOf(keys);
  const body = JSON.stringify(abnormalRefundRequestBody(request.refundId, request.destination, key));
  const answer = await send(config, keys, sender, 'retryAbnormalRefund', {
    method: 'POST',
    path: abnormalRefundPath(request.providerRefundId),
    body,
    now: request.now,
    headers: { 'Wechatpay-Serial': serial },
  });
  if (answer.status === 200)
    return { outcome: 'accepted', state: refundStateOf('retryAbnormalRefund', answer.body, request) };
  const refusal = refusalOf(answer);
  if (refusal?.status === 'failed')
    return { outcome: 'refused', providerStatus: refusal.providerStatus, reason: refusal.reason };
  throw callError('retryAbnormalRefund', describeAnswer(answer));
}
