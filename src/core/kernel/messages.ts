import * as z from 'zod/mini';
import './zod-english';
import { CURRENCY, isFen } from '../../domain/money';
import {
  NOTIFICATION_OUTCOMES,
  type PaymentNotification,
  REFUND_OUTCOMES,
  type RefundNotification,
} from '../../domain/notification';
import { PAYMENT_METHODS } from '../../domain/payment';
import { PAYMENT_SCENES } from '../../domain/scene';

/** The queue message contract between the callback function and the worker. */
export const PaymentNotificationMessage = z.object({
  provider: z.enum(PAYMENT_METHODS),
  eventId: z.string().check(z.minLength(1)),
  paymentId: z.string().check(z.minLength(1)),
  providerTransactionId: z.optional(z.string()),
  outcome: z.enum(NOTIFICATION_OUTCOMES),
  amount: z.number().check(z.refine(isFen, 'amount must be integer fen')),
  currency: z.literal(CURRENCY),
  occurredAt: z.string(),
  providerStatus: z.string(),
  tradeType: z.optional(z.string().check(z.maxLength(32))),
  scene: z.optional(z.enum(PAYMENT_SCENES)),
  via: z.enum(['callback', 'query']),
}) satisfies z.ZodMiniType<PaymentNotification>;

const fen = z.number().check(z.refine(isFen, 'amount must be integer fen'));

export const RefundNotificationMessage = z.object({
  type: z.literal('refund'),
  provider: z.enum(PAYMENT_METHODS),
  eventId: z.string().check(z.minLength(1)),
  refundId: z.optional(z.string().check(z.minLength(1))),
  paymentId: z.string().check(z.minLength(1)),
  providerRefundId: z.optional(z.string()),
  providerTransactionId: z.optional(z.string()),
  outcome: z.enum(REFUND_OUTCOMES),
  amount: fen,
  paymentAmount: z.optional(fen),
  refundedTotal: z.optional(fen),
  currency: z.literal(CURRENCY),
  occurredAt: z.string(),
  providerStatus: z.string(),
  via: z.enum(['callback', 'query']),
}) satisfies z.ZodMiniType<RefundNotification>;

/** A queued payment or refund notification (a refund one carries `type: "refund"`). */
export function parseNotificationMessage(body: string): PaymentNotification | RefundNotification {
  const message: unknown = JSON.parse(body);
  const isRefund = typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'refund';
  return isRefund ? RefundNotificationMessage.parse(message) : PaymentNotificationMessage.parse(message);
}
