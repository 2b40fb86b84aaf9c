import { randomBytes, type KeyObject } from 'node:crypto';
import { fenToYuan } from '../../src/domain/money';
import { toAlipayTime, type AlipayNotification } from '../../src/providers/alipay';
import type { AlipaySandboxKeys } from './alipay';
import { rsa2, signString } from './alipay-signing';
import { TRADE_STATUS, tradeNo } from './alipay-trades';
import type { OutboundCallback, SandboxCheckout, SandboxRefund } from './types';

/** Alipay's notifications of a trade and of its refunds, as its gateway posts them to the merchant's notify_url. */

/** What signs a notification: Alipay's own private key, and the app it is for. */
export interface AlipaySigner {
  keys: AlipaySandboxKeys;
  alipayPrivateKey: KeyObject;
}

const NOTIFICATION_CONTENT_TYPE = 'application/x-www-form-urlencoded; charset=utf-8';

/** The asynchronous notification, signed over every field but sign and sign_type. */
export function notificationFields(
  alipay: AlipaySigner,
  checkout: SandboxCheckout,
  now: Date,
): Omit<AlipayNotification, 'sign'> {
  const paid = checkout.state === 'paid';
  const total = fenToYuan(checkout.amount);
  const decidedAt = toAlipayTime(new Date(checkout.paidAt ?? now));
  return {
    notify_time: toAlipayTime(now),
    notify_type: 'trade_status_sync',
    notify_id: checkout.notificationId ?? randomBytes(16).toString('hex'),
    app_id: alipay.keys.appId,
    charset: 'utf-8',
    version: '1.0',
    sign_type: 'RSA2',
    trade_no: tradeNo(checkout),
    out_trade_no: checkout.paymentId,
    trade_status: TRADE_STATUS[checkout.state],
    total_amount: total,
    // The store keeps no creation time: the decision time stands in for gmt_create.
    gmt_create: decidedAt,
    ...(paid ? { receipt_amount: total, buyer_pay_amount: total, gmt_payment: decidedAt } : { gmt_close: decidedAt }),
    seller_id: alipay.keys.sellerId,
    subject: checkout.description,
  };
}

/** Every field but sign is signed (the documented string leaves sign_type out too). */
export function signedForm(
  alipay: AlipaySigner,
  url: string,
  unsigned: Readonly<Record<string, string | undefined>>,
): OutboundCallback {
  const fields = new Map(Object.entries(unsigned).filter((entry): entry is [string, string] => entry[1] !== undefined));
  fields.set('sign', rsa2(signString(fields, ['sign', 'sign_type']), alipay.alipayPrivateKey));
  return {
    url,
    headers: { 'Content-Type': NOTIFICATION_CONTENT_TYPE },
    body: new URLSearchParams([...fields]).toString(),
  };
}

/**
 * After a refund Alipay notifies the trade again: TRADE_SUCCESS while part of it remains,
 * TRADE_CLOSED once all of it is refunded, with out_biz_no (the refund's out_request_no; none
 * for a console refund), refund_fee (CUMULATIVE) and gmt_refund. Only a success is notified.
 */
export function refundNotificationFields(
  alipay: AlipaySigner,
  checkout: SandboxCheckout,
  refund: SandboxRefund,
  now: Date,
): Record<string, string | undefined> {
  const refundedAfter = refund.refundedAfter ?? refund.amount;
  const closed = refundedAfter === checkout.amount;
  const refundedAt = toAlipayTime(new Date(refund.settledAt ?? now));
  return {
    ...notificationFields(alipay, checkout, now),
    notify_id: refund.notificationId,
    trade_status: closed ? 'TRADE_CLOSED' : 'TRADE_SUCCESS',
    out_biz_no: refund.refundId,
    refund_fee: fenToYuan(refundedAfter),
    gmt_refund: refundedAt,
    ...(closed ? { gmt_close: refundedAt } : {}),
  };
}
