import { CURRENCY } from '../../domain/money';
import type { RefundNotification } from '../../domain/notification';
import { type CallbackVerification } from '../../core/payments/provider';
import { refuse } from '../kit/replies';
import { parseJsonText } from '../kit/parse';
import { type KeyedBankConfig, parseBankSignatureHeader, signatureMatches } from './signatures';
import {
  type BankStatus,
  BANK_REFUND_EVENTS,
  BANK_SIGNATURE_HEADER,
  BANK_STATUSES,
  BANK_STATUS_OUTCOMES,
  BANK_TOLERANCE_SECONDS,
  BankCallbackBodySchema,
  BankRefundEventSchema,
} from './wire';

/** A refund webhook names its `type`; a payment webhook has none. */
function isRefundEvent(json: unknown): boolean {
  return (
    typeof json === 'object' &&
    json !== null &&
    'type' in json &&
    typeof json.type === 'string' &&
    json.type.startsWith('refund.')
  );
}

function isBankStatus(status: string): status is BankStatus {
  return (BANK_STATUSES as readonly string[]).includes(status);
}

/**
 * Order of checks: header syntax, signature, then the replay window (Stripe's order). Checking
 * the signature first means 'stale_timestamp' is only ever reported for a genuine bank message
 * (a late retry or a replay), which is worth telling apart from a forgery; a forger learns
 * nothing from it either way. The body is parsed only once it is known to come from the bank.
 */
export function verifyBankCallback(
  config: KeyedBankConfig,
  headers: Readonly<Record<string, string | undefined>>,
  rawBody: Buffer,
  now: Date,
): CallbackVerification {
  const headerValue = headers[BANK_SIGNATURE_HEADER];
  if (headerValue === undefined) return refuse('malformed', 'missing Bank-Signature header');
  const header = parseBankSignatureHeader(headerValue);
  if (!header) return refuse('malformed', 'Bank-Signature header is not t=<seconds>,v1=<hex>');

  if (!signatureMatches(config.webhookKeys, header, rawBody)) {
    return refuse('bad_signature', 'no v1 signature matches any configured webhook secret');
  }
  const ageSeconds = Math.floor(now.getTime() / 1000) - Number(header.timestamp);
  if (Math.abs(ageSeconds) > BANK_TOLERANCE_SECONDS) {
    return refuse(
      'stale_timestamp',
      `timestamp is ${Math.abs(ageSeconds)} s off, tolerance ${BANK_TOLERANCE_SECONDS} s`,
    );
  }

  const json = parseJsonText(rawBody.toString('utf8'));
  if (isRefundEvent(json)) return refundNotification(json);
  const parsed = BankCallbackBodySchema.safeParse(json);
  if (!parsed.success) return refuse('malformed', 'body is not the bank callback JSON');
  const body = parsed.data;
  if (!isBankStatus(body.status)) return refuse('unsupported_event', `status ${body.status} has no payment outcome`);
  if (body.currency !== CURRENCY) return refuse('currency_mismatch', `currency ${body.currency}, expected ${CURRENCY}`);

  return {
    ok: true,
    notification: {
      provider: 'bank',
      eventId: body.event_id,
      paymentId: body.payment_id,
      providerTransactionId: body.transaction_id,
      outcome: BANK_STATUS_OUTCOMES[body.status],
      amount: body.amount,
      currency: CURRENCY,
      occurredAt: utcIso(body.occurred_at),
      providerStatus: body.status,
      via: 'callback',
    },
  };
}

const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A webhook time (validated ISO 8601 with offset) as canonical UTC; the bank's usual form is kept as is, a tenth of the cost of a Date round trip. */
function utcIso(time: string): string {
  return CANONICAL_UTC.test(time) ? time : new Date(time).toISOString();
}

function refundNotification(json: unknown): CallbackVerification {
  const parsed = BankRefundEventSchema.safeParse(json);
  if (!parsed.success) return refuse('malformed', 'body is not the bank refund webhook JSON');
  const event = parsed.data;
  const outcome = BANK_REFUND_EVENTS[event.type];
  if (!outcome) return refuse('unsupported_event', `type ${event.type} has no refund outcome`);
  if (event.currency !== CURRENCY)
    return refuse('currency_mismatch', `currency ${event.currency}, expected ${CURRENCY}`);
  const notification: RefundNotification = {
    type: 'refund',
    provider: 'bank',
    eventId: event.event_id,
    refundId: event.refund_id,
    paymentId: event.payment_id,
    outcome,
    amount: event.amount,
    currency: CURRENCY,
    occurredAt: utcIso(event.occurred_at),
    providerStatus: event.type,
    via: 'callback',
  };
  return { ok: true, notification };
}
