import * as z from 'zod/mini';
import '../../core/kernel/zod-english';
import { isFen } from '../../domain/money';
import type { NotificationOutcome, RefundOutcome } from '../../domain/notification';

export const BANK_SIGNATURE_HEADER = 'bank-signature';
/** Replay window, as Stripe's default: a callback signed more than 5 minutes from now is refused. */
export const BANK_TOLERANCE_SECONDS = 300;

export const BANK_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type BankStatus = (typeof BANK_STATUSES)[number];

/** Every bank status has an outcome; anything else is a verified event we do not act on. */
export const BANK_STATUS_OUTCOMES: Readonly<Record<BankStatus, NotificationOutcome>> = {
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
};

const nonEmpty = z.string().check(z.minLength(1));
/** Minor units (fen): a safe non-negative integer within the project's amount range. */
const fen = z.number().check(z.refine(isFen, 'must be a non-negative integer number of fen'));
const isoWithOffset = z.iso.datetime({ offset: true });

/** The callback body. `status` and `currency` stay plain strings here so that an unknown value
 * is reported as what it is (unsupported_event, currency_mismatch) rather than as 'malformed'. */
export const BankCallbackBodySchema = z.object({
  event_id: nonEmpty,
  payment_id: nonEmpty,
  transaction_id: nonEmpty,
  status: nonEmpty,
  amount: fen,
  currency: nonEmpty,
  occurred_at: isoWithOffset,
});
export type BankCallbackBody = z.infer<typeof BankCallbackBodySchema>;

export const BANK_REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'requires_action'] as const;
export type BankRefundStatus = (typeof BANK_REFUND_STATUSES)[number];

/**
 * A refund's status in the bank's answers → our outcome. requires_action: the bank could not pay
 * the money back to the card (closed or blocked) and a person has to settle it, as Stripe's refund
 * status of that name (hyperswitch reads it as manual review).
 */
export const BANK_REFUND_OUTCOMES: Readonly<Record<BankRefundStatus, RefundOutcome>> = {
  pending: 'processing',
  succeeded: 'succeeded',
  failed: 'failed',
  requires_action: 'abnormal',
};

/** The refund webhooks (the bank never announces pending). */
export const BANK_REFUND_EVENTS: Readonly<Record<string, RefundOutcome>> = {
  'refund.succeeded': 'succeeded',
  'refund.failed': 'failed',
  'refund.requires_action': 'abnormal',
};

/** A refund webhook body (told apart from a payment webhook by its `type`). */
export const BankRefundEventSchema = z.object({
  event_id: nonEmpty,
  type: nonEmpty,
  /** Our refund id; for a refund made on the bank's own console, the bank's id for it. */
  refund_id: nonEmpty,
  payment_id: nonEmpty,
  amount: fen,
  currency: nonEmpty,
  occurred_at: isoWithOffset,
  failure_reason: z.optional(z.string()),
});
export type BankRefundEvent = z.infer<typeof BankRefundEventSchema>;

/** `POST /refunds` body. */
export interface BankRefundRequestBody {
  refund_id: string;
  payment_id: string;
  amount: number;
  currency: string;
  reason?: string;
}

/** A refund as `POST /refunds` and `GET /refunds/{refund_id}` answer it. */
export const BankRefundSchema = z.object({
  refund_id: nonEmpty,
  payment_id: nonEmpty,
  amount: fen,
  currency: nonEmpty,
  status: nonEmpty,
  failure_reason: z.optional(z.string()),
  created_at: isoWithOffset,
  succeeded_at: z.optional(isoWithOffset),
});
export type BankRefund = z.infer<typeof BankRefundSchema>;

/** The bank API's error body, e.g. {"error":{"code":"amount_exceeds_refundable","message":"..."}}. */
export const BankErrorSchema = z.object({ error: z.object({ code: nonEmpty, message: z.optional(z.string()) }) });

/** Query parameters of the pay URL; `signature` signs all the others. */
export interface BankPayParams {
  payment_id: string;
  amount: string;
  currency: string;
  expires_at: string;
  return_url: string;
  notify_url: string;
}
