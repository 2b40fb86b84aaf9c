import * as z from 'zod';
import { CURRENCY, isFen } from '../domain/money';
import { NOTIFICATION_OUTCOMES, type PaymentNotification } from '../domain/notification';
import { PAYMENT_METHODS } from '../domain/payment';

/** The queue message contract between the callback function and the worker. */
export const PaymentNotificationMessage = z.object({
  provider: z.enum(PAYMENT_METHODS),
  eventId: z.string().min(1),
  paymentId: z.string().min(1),
  providerTransactionId: z.string().optional(),
  outcome: z.enum(NOTIFICATION_OUTCOMES),
  amount: z.number().refine(isFen, 'amount must be integer fen'),
  currency: z.literal(CURRENCY),
  occurredAt: z.string(),
  providerStatus: z.string(),
  via: z.enum(['callback', 'query']),
}) satisfies z.ZodType<PaymentNotification>;

export function parseNotificationMessage(body: string): PaymentNotification {
  return PaymentNotificationMessage.parse(JSON.parse(body));
}
