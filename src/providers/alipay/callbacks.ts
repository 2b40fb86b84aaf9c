import type { KeyObject } from 'node:crypto';
import { CURRENCY } from '../../domain/money';
import type { RefundNotification } from '../../domain/notification';
import type { AlipayConfig } from '../config';
import { type ProviderSender } from '../kit/http';
import { type CallbackVerification } from '../../core/payments/provider';
import { refuse } from '../kit/replies';
import { notificationSigned, parseAlipayForm } from './signatures';
import {
  type AlipayNotification,
  ALIPAY_TRADE_STATUS_MAPPING,
  AlipayNotificationSchema,
  PROVIDER,
  fromAlipayTime,
  isTradeStatus,
  yuanToFenOrUndefined,
} from './wire';

export interface Merchant {
  config: AlipayConfig;
  privateKey: KeyObject;
  alipayPublicKey: KeyObject;
  send: ProviderSender;
}

/**
 * Order of checks: form syntax, `sign` present and RSA2 (anything else is not the format we
 * configured: 'malformed'), signature, then the fields, merchant ids and status. Fields are read
 * only once they are known to come from Alipay.
 */
export function verifyNotification(merchant: Merchant, body: unknown): CallbackVerification {
  if (!Buffer.isBuffer(body)) return refuse('malformed', 'body is not raw bytes');
  const params = parseAlipayForm(body.toString('utf8'));
  if (!params) return refuse('malformed', 'a form field appears more than once');
  if (!params.sign) return refuse('malformed', 'sign is missing');
  if (params.sign_type !== 'RSA2') return refuse('malformed', 'sign_type is not RSA2');
  if (!notificationSigned(params, merchant.alipayPublicKey))
    return refuse('bad_signature', 'sign does not verify with the Alipay public key');

  const parsed = AlipayNotificationSchema.safeParse(params);
  if (!parsed.success)
    return refuse(
      'malformed',
      `missing or invalid ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
    );
  const notification = parsed.data;
  const { appId, sellerId } = merchant.config;
  if (notification.app_id !== appId) return refuse('merchant_mismatch', 'app_id is not ours');
  if (sellerId !== undefined && notification.seller_id !== sellerId)
    return refuse('merchant_mismatch', 'seller_id is not ours');

  const status = notification.trade_status;
  if (!isTradeStatus(status)) return refuse('malformed', `unknown trade_status ${status}`);
  if (isRefundNotice(notification)) return refundNotification(notification);
  const { outcome } = ALIPAY_TRADE_STATUS_MAPPING[status];
  if (!outcome) return refuse('unsupported_event', `trade_status ${status} has no payment outcome`);
  const amount = yuanToFenOrUndefined(notification.total_amount);
  if (amount === undefined) return refuse('malformed', 'total_amount is not yuan with at most two decimals');
  // The event time: payment or close time, else when Alipay sent the notification.
  const occurredAt = fromAlipayTime(notification.gmt_payment || notification.gmt_close || notification.notify_time);
  if (!occurredAt) return refuse('malformed', 'gmt_payment / gmt_close / notify_time is not yyyy-MM-dd HH:mm:ss');

  return {
    ok: true,
    notification: {
      provider: PROVIDER,
      eventId: notification.notify_id,
      paymentId: notification.out_trade_no,
      providerTransactionId: notification.trade_no,
      outcome,
      amount,
      currency: CURRENCY,
      occurredAt,
      providerStatus: status,
      via: 'callback',
    },
  };
}

/**
 * Alipay has no refund notification of its own: after a refund it sends the ordinary
 * trade_status_sync, with refund_fee > 0 (and out_biz_no, gmt_refund), trade_status TRADE_SUCCESS
 * after a partial refund or TRADE_CLOSED after a full one. That is a refund, never a closed or a
 * second payment. (A TRADE_FINISHED, sent when the refund period ends, may repeat earlier refund
 * fields but announces no refund: it stays a payment notification.)
 */
function isRefundNotice(notification: AlipayNotification): boolean {
  const { refund_fee: refundFee, trade_status: status } = notification;
  if (!refundFee || (status !== 'TRADE_SUCCESS' && status !== 'TRADE_CLOSED')) return false;
  // An unreadable refund_fee is a malformed refund notification, not a payment one.
  return yuanToFenOrUndefined(refundFee) !== 0;
}

/**
 * The notification names the refund (out_biz_no, when we made it) and the trade's CUMULATIVE
 * refunded amount, not this refund's: `amount` is 0 (unknown) and `refundedTotal` carries
 * refund_fee, from which the core derives this refund's amount (see RefundNotification).
 */
function refundNotification(notification: AlipayNotification): CallbackVerification {
  const refundedTotal = yuanToFenOrUndefined(notification.refund_fee ?? '');
  const paymentAmount = yuanToFenOrUndefined(notification.total_amount);
  if (refundedTotal === undefined || paymentAmount === undefined)
    return refuse('malformed', 'refund_fee or total_amount is not yuan with at most two decimals');
  if (refundedTotal > paymentAmount) return refuse('malformed', 'refund_fee is more than total_amount');
  const occurredAt = fromAlipayTime(notification.gmt_refund || notification.notify_time);
  if (!occurredAt) return refuse('malformed', 'gmt_refund / notify_time is not yyyy-MM-dd HH:mm:ss');

  const refund: RefundNotification = {
    type: 'refund',
    provider: PROVIDER,
    eventId: notification.notify_id,
    ...(notification.out_biz_no ? { refundId: notification.out_biz_no } : {}),
    paymentId: notification.out_trade_no,
    providerTransactionId: notification.trade_no,
    outcome: 'succeeded',
    amount: 0,
    paymentAmount,
    refundedTotal,
    currency: CURRENCY,
    occurredAt,
    providerStatus: notification.trade_status,
    via: 'callback',
  };
  return { ok: true, notification: refund };
}
