import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CURRENCY } from '../../domain/money';
import type { RefundNotification } from '../../domain/notification';
import type { WechatConfig } from '../config';
import { type CallbackVerification } from '../../core/payments/provider';
import { type WechatpayHeaders, decryptResource, verifyWechatpaySignature } from './signatures';
import { parseJson } from '../kit/parse';
import { refuse } from '../kit/replies';
import { configuredAppids, tradeTypeOf } from './scenes';
import {
  type WechatCallbackEnvelope,
  WECHAT_CALLBACK_OUTCOMES,
  WECHAT_REFUND_EVENTS,
  WECHAT_REFUND_OUTCOMES,
  WechatCallbackEnvelopeSchema,
  WechatRefundResourceSchema,
  WechatTransactionSchema,
  isWechatTradeState,
  toIsoUtc,
} from './wire';

export interface WechatKeys {
  merchantKey: KeyObject;
  platformKeys: ReadonlyMap<string, KeyObject>;
}

/** PEMs → key objects once, at start-up: a broken PEM fails the deployment, not a callback. */
export function loadKeys(config: WechatConfig): WechatKeys {
  return {
    merchantKey: createPrivateKey(config.merchantPrivateKey),
    platformKeys: new Map(
      Object.entries(config.platformPublicKeys).map(([serial, pem]) => [serial, createPublicKey(pem)]),
    ),
  };
}

/** Reads the Wechatpay-* headers; `get` takes a lower-case name (callbacks and fetch answers alike). */
export function wechatpayHeaders(get: (name: string) => unknown): WechatpayHeaders {
  return {
    timestamp: get('wechatpay-timestamp'),
    nonce: get('wechatpay-nonce'),
    signature: get('wechatpay-signature'),
    serial: get('wechatpay-serial'),
    signatureType: get('wechatpay-signature-type'),
  };
}

/**
 * Signature (see verifyWechatpaySignature), then the envelope and, by its `original_type`, a
 * payment (`transaction`) or a refund (`refund`) resource. The body is parsed only once it is
 * known to be WeChat's.
 */
export function verifyWechatCallback(
  config: WechatConfig,
  platformKeys: ReadonlyMap<string, KeyObject>,
  headers: Readonly<Record<string, string | undefined>>,
  rawBody: Buffer,
  now: Date,
): CallbackVerification {
  const signature = verifyWechatpaySignature(
    wechatpayHeaders((name) => headers[name]),
    rawBody,
    platformKeys,
    now,
  );
  if (!signature.ok) return signature;

  const envelope = parseJson(rawBody.toString('utf8'), WechatCallbackEnvelopeSchema);
  if (!envelope) return refuse('malformed', 'body is not a WeChat v3 notification envelope');
  // Payment notifications name their type 'transaction'; an envelope without one is read by its event.
  const originalType =
    envelope.resource.original_type ?? (envelope.event_type.startsWith('REFUND.') ? 'refund' : 'transaction');
  if (originalType === 'transaction') return verifyTransactionResource(config, envelope);
  if (originalType === 'refund') return verifyRefundResource(config, envelope);
  return refuse('unsupported_event', `resource original_type ${originalType} is neither a transaction nor a refund`);
}

/** A payment notification: our mchid / appid, the trade_state, currency. */
function verifyTransactionResource(config: WechatConfig, envelope: WechatCallbackEnvelope): CallbackVerification {
  const plaintext = decryptResource(config.apiV3Key, envelope.resource);
  if (plaintext === undefined) return refuse('decrypt_failed', 'resource does not decrypt with the APIv3 key');
  const transaction = parseJson(plaintext, WechatTransactionSchema);
  if (!transaction) return refuse('malformed', 'decrypted resource is not a WeChat transaction');

  if (transaction.mchid !== config.mchid) return refuse('merchant_mismatch', 'mchid is not ours');
  if (!configuredAppids(config).has(transaction.appid)) return refuse('merchant_mismatch', 'appid is not ours');
  const state = transaction.trade_state;
  const outcome = isWechatTradeState(state) ? WECHAT_CALLBACK_OUTCOMES[state] : null;
  if (!outcome) return refuse('unsupported_event', `trade_state ${state} has no payment outcome`);
  if (transaction.amount.currency !== CURRENCY) {
    return refuse('currency_mismatch', `currency ${transaction.amount.currency}, expected ${CURRENCY}`);
  }
  if (outcome === 'succeeded' && (!transaction.transaction_id || !transaction.success_time)) {
    return refuse('malformed', 'SUCCESS without transaction_id or success_time');
  }

  return {
    ok: true,
    notification: {
      provider: 'wechat',
      eventId: envelope.id,
      paymentId: transaction.out_trade_no,
      ...(transaction.transaction_id ? { providerTransactionId: transaction.transaction_id } : {}),
      outcome,
      amount: transaction.amount.total,
      currency: CURRENCY,
      occurredAt: toIsoUtc(transaction.success_time ?? envelope.create_time),
      providerStatus: state,
      ...tradeTypeOf(config, transaction),
      via: 'callback',
    },
  };
}

/**
 * A refund notification (REFUND.SUCCESS / ABNORMAL / CLOSED): the same signature and AES-GCM as a
 * payment's, but the resource has no appid, so only mchid says it is ours; its refund_status must
 * be the one the event names. All four ids and both amounts are carried on for the core to check
 * against its refund.
 */
function verifyRefundResource(config: WechatConfig, envelope: WechatCallbackEnvelope): CallbackVerification {
  const eventStatus = WECHAT_REFUND_EVENTS[envelope.event_type];
  if (!eventStatus) return refuse('unsupported_event', `event_type ${envelope.event_type} is not a refund outcome`);
  const plaintext = decryptResource(config.apiV3Key, envelope.resource);
  if (plaintext === undefined) return refuse('decrypt_failed', 'resource does not decrypt with the APIv3 key');
  const refund = parseJson(plaintext, WechatRefundResourceSchema);
  if (!refund) return refuse('malformed', 'decrypted resource is not a WeChat refund');

  if (refund.mchid !== config.mchid) return refuse('merchant_mismatch', 'mchid is not ours');
  if (refund.refund_status !== eventStatus)
    return refuse('malformed', `refund_status ${refund.refund_status} disagrees with ${envelope.event_type}`);
  if (eventStatus === 'SUCCESS' && !refund.success_time) return refuse('malformed', 'SUCCESS without success_time');

  const notification: RefundNotification = {
    type: 'refund',
    provider: 'wechat',
    eventId: envelope.id,
    refundId: refund.out_refund_no,
    paymentId: refund.out_trade_no,
    providerRefundId: refund.refund_id,
    providerTransactionId: refund.transaction_id,
    outcome: WECHAT_REFUND_OUTCOMES[eventStatus],
    amount: refund.amount.refund,
    paymentAmount: refund.amount.total,
    currency: CURRENCY,
    occurredAt: toIsoUtc(refund.success_time ?? envelope.create_time),
    providerStatus: refund.refund_status,
    via: 'callback',
  };
  return { ok: true, notification };
}
