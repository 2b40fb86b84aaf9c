import { isRefundNotification, type PaymentNotification, type RefundNotification } from '../../domain/notification';
import { PAYMENT_METHODS, type Payment, type PaymentMethod } from '../../domain/payment';
import type { CallbackVerification, PaymentProvider, ProviderReply, RawCallback, RejectionReason } from './provider';
import { matchesRefundPayment } from '../refunds/refund-notifications';
import type { Uses } from '../kernel/deps';
import { Metric } from '../kernel/metric-names';
import { matchesPayment } from './notifications';
import { PaymentMismatchError, type PaymentStore } from './ports';
import type { Commit, Write } from '../kernel/ports';

/** Archived raw callbacks are kept 30 days for inspection and replay. */
export const CALLBACK_ARCHIVE_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * The largest callback body accepted. Real notifications are a few KB (WeChat's encrypted
 * envelope, Alipay's form, the bank's JSON); 64 KiB leaves room for fields the providers add
 * without notice, keeps every archive item far below DynamoDB's 400 KB item limit, and refuses
 * anything bigger before the work of verifying it.
 */
export const MAX_CALLBACK_BYTES = 64 * 1024;
/** Never archived: credentials a proxy might add. Signatures stay: a replay re-verifies them. */
const DROPPED_HEADERS = new Set(['authorization', 'cookie', 'x-api-key']);
const SIGNATURE_FAILURES: ReadonlySet<RejectionReason> = new Set(['bad_signature', 'unknown_key', 'decrypt_failed']);

type CallbackDeps = Uses<PaymentStore & Commit, 'providers' | 'queue' | 'metrics' | 'logger' | 'clock'>;

const notFound: ProviderReply = {
  statusCode: 404,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error: { code: 'UNKNOWN_PROVIDER', message: 'No such provider' } }),
};

/**
 * A provider's callback: verify, check it against our payment, archive it, enqueue it, and only
 * then acknowledge in the provider's own format. Anything that fails before the queue has the
 * message answers the provider's retryable failure, so nothing acknowledged can be lost. A
 * rejected callback changes nothing and is counted by reason.
 */
export async function receiveCallback(
  deps: CallbackDeps,
  providerName: string,
  callback: RawCallback,
): Promise<ProviderReply> {
  if (!(PAYMENT_METHODS as readonly string[]).includes(providerName)) return notFound;
  const providerId = providerName as PaymentMethod;
  const started = performance.now();
  const dims = { provider: providerId };
  deps.metrics.count(Metric.CallbackReceived, 1, dims);
  const provider = deps.providers[providerId];
  if (!provider) return notFound;
  if (callback.body.length > MAX_CALLBACK_BYTES) {
    // Never acceptable, so a 4xx: retrying cannot make it smaller. Refused unread and unverified.
    deps.metrics.count(Metric.CallbackTooLarge, 1, dims);
    deps.metrics.count(Metric.CallbackRejected, 1, { ...dims, reason: 'too_large' });
    deps.logger.warn('callback rejected', {
      provider: providerId,
      reason: 'too_large',
      bodyBytes: callback.body.length,
      maxBytes: MAX_CALLBACK_BYTES,
    });
    return { ...provider.reject(`body over ${MAX_CALLBACK_BYTES} bytes`, false), statusCode: 413 };
  }

  const verification = await verifyAndQueue(deps, provider, providerId, callback);
  if (!('ok' in verification)) return verification;
  if (!verification.ok) return rejected(deps, provider, providerId, verification, callback);

  const { notification } = verification;
  deps.metrics.count(Metric.CallbackAccepted, 1, { ...dims, outcome: notification.outcome });
  deps.metrics.observe(Metric.CallbackLatency, performance.now() - started, 'Milliseconds', dims);
  deps.logger.info('callback accepted', {
    provider: providerId,
    eventId: notification.eventId,
    paymentId: notification.paymentId,
    outcome: notification.outcome,
  });
  return provider.acknowledge();
}

/**
 * Verifies the callback and checks it against our payment, then archives and enqueues it. The
 * provider's retryable failure when that could not be done: the provider sends it again.
 */
async function verifyAndQueue(
  deps: CallbackDeps,
  provider: PaymentProvider,
  providerId: PaymentMethod,
  callback: RawCallback,
): Promise<CallbackVerification | ProviderReply> {
  const now = deps.clock.now();
  const verification = provider.verifyCallback(callback, now);
  if (!verification.ok) return verification;
  const { notification } = verification;
  try {
    // The signature proves who sent it; the amount must also be what this payment asked for (a
    // refund: no more than it). A payment notification is checked by the archive's own
    // transaction (no read first: a mismatch archives nothing); a refund against the payment read.
    const refundRefusal = isRefundNotification(notification) ? await refundMismatch(deps, notification) : undefined;
    if (refundRefusal) return refundRefusal;
    const check: Write[] = isRefundNotification(notification) ? [] : [{ kind: 'checkPaymentMatches', notification }];
    await deps.repo.commit([...check, archiveWrite(providerId, notification, callback, now)]);
    await deps.queue.enqueue(notification);
    return verification;
  } catch (error) {
    if (error instanceof PaymentMismatchError && !isRefundNotification(notification))
      return mismatchRejection(notification, error.payment);
    deps.metrics.count(Metric.CallbackEnqueueFailed, 1, { provider: providerId });
    deps.logger.error('callback not enqueued; asking the provider to retry', {
      provider: providerId,
      eventId: notification.eventId,
      error: String(error),
    });
    return provider.reject('temporarily unavailable, please retry', true);
  }
}

/** A rejected callback changes nothing: it is counted by reason and answered with the provider's final refusal. */
function rejected(
  deps: CallbackDeps,
  provider: PaymentProvider,
  providerId: PaymentMethod,
  { reason, detail }: Extract<CallbackVerification, { ok: false }>,
  callback: RawCallback,
): ProviderReply {
  const dims = { provider: providerId };
  deps.metrics.count(Metric.CallbackRejected, 1, { ...dims, reason });
  if (reason === 'signature_probe') deps.metrics.count(Metric.SignatureProbe, 1, dims);
  else if (SIGNATURE_FAILURES.has(reason)) deps.metrics.count(Metric.SignatureFailure, 1, dims);
  if (reason === 'amount_mismatch' || reason === 'currency_mismatch')
    deps.metrics.count(Metric.AmountMismatch, 1, dims);
  const log = reason === 'signature_probe' ? deps.logger.info : deps.logger.warn;
  log('callback rejected', { provider: providerId, reason, detail, bodyBytes: callback.body.length });
  return provider.reject(`rejected: ${reason}`, false);
}

function mismatchRejection(
  notification: PaymentNotification,
  payment: Payment,
): CallbackVerification<PaymentNotification> {
  const match = matchesPayment(notification, payment);
  if (match === 'method_mismatch')
    return { ok: false, reason: 'unknown_payment', detail: 'payment belongs to another provider' };
  return { ok: false, reason: match === 'ok' ? 'amount_mismatch' : match, detail: `${match} for ${payment.paymentId}` };
}

/** A refund may not be for more than its payment, nor name a payment of another provider. */
async function refundMismatch(
  deps: Uses<PaymentStore>,
  notification: RefundNotification,
): Promise<CallbackVerification | undefined> {
  const payment = await deps.repo.getPayment(notification.paymentId);
  const match = payment ? matchesRefundPayment(notification, payment) : 'ok';
  if (match === 'ok') return undefined;
  if (match === 'method_mismatch')
    return { ok: false, reason: 'unknown_payment', detail: 'payment belongs to another provider' };
  return { ok: false, reason: match, detail: `${match} for ${notification.paymentId}` };
}

function archiveWrite(
  provider: PaymentMethod,
  notification: PaymentNotification | RefundNotification,
  callback: RawCallback,
  now: Date,
): Write {
  return {
    kind: 'archiveCallback',
    record: {
      provider,
      eventId: notification.eventId,
      paymentId: notification.paymentId,
      receivedAt: now.toISOString(),
      headers: Object.fromEntries(
        Object.entries(callback.headers).filter(
          (entry): entry is [string, string] => entry[1] !== undefined && !DROPPED_HEADERS.has(entry[0]),
        ),
      ),
      bodyBase64: callback.body.toString('base64'),
      expiresAt: new Date(now.getTime() + CALLBACK_ARCHIVE_MS).toISOString(),
    },
  };
}
