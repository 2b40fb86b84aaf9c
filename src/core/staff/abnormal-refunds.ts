import {
  NoLongerWaitingError,
  NotFoundError,
  RefundRetryNotSupportedError,
  RefundRetryRefusedError,
} from '../../domain/errors';
import { type Refund, transitionRefund } from '../../domain/refund';
import type { AbnormalRefundDestination, AbnormalRefundRetryAnswer, PaymentProvider } from '../payments/provider';
import type { Deps } from '../kernel/deps';
import { Metric } from '../kernel/metric-names';
import type { Write } from '../kernel/ports';
import { decideAgainOnStale } from '../kernel/stale';
import { providerFor } from '../payments/payments';
import { applyProviderState, settleRefund } from '../refunds/refunds';
import { refundView } from '../refunds/views';
import { auditRecord, type StaffNote } from './audit';
import { subjectOf } from '../../domain/audit';
import { refundSummary, type RefundActionDeps } from './refund-actions';

type RetryDeps = RefundActionDeps & Pick<Deps, 'providers'>;

interface RetryInput extends StaffNote {
  refundId: string;
  destination: AbnormalRefundDestination;
}

/**
 * An abnormal refund sent again to another account (WeChat's apply-abnormal-refund). The refund
 * is first claimed, abnormal → processing with its audit entry in one conditional transaction, so
 * a person settling it offline at the same moment cannot also pay the customer: one of the two
 * wins, the other gets NO_LONGER_WAITING. Then the provider is asked. Accepted: the refund follows
 * the ordinary notification and query path to its end. Refused (bank details, a bank WeChat does
 * not pay to): it goes back to abnormal with a second audit line, and the caller gets
 * REFUND_RETRY_REFUSED. Unknown (a timeout): it stays processing and the sweeper's query says what
 * WeChat holds (ABNORMAL again if the re-submission never arrived).
 */
export async function retryAbnormalRefund(deps: RetryDeps, input: RetryInput, remember?: (body: unknown) => Write[]) {
  const claimed = await decideAgainOnStale(() => claim(deps, input));
  const { refund, provider, auditId } = claimed;
  let answer: AbnormalRefundRetryAnswer;
  try {
    answer = await provider.retryAbnormalRefund!({
      refundId: refund.refundId,
      paymentId: refund.paymentId,
      providerRefundId: refund.providerRefundId!,
      destination: input.destination,
      now: deps.clock.now(),
    });
  } catch (error) {
    deps.metrics.count(Metric.RefundCallFailed, 1, { provider: refund.method });
    deps.logger.warn('abnormal refund re-submission outcome unknown; the sweeper queries it', {
      refundId: refund.refundId,
      error: String(error),
    });
    return answered(deps, { refund: refundView(refund), auditId }, remember);
  }
  if (answer.outcome === 'refused') return refused(deps, input, refund, answer);
  const after = await applyProviderState(deps, refund.refundId, answer.state, 'abnormal refund re-submitted');
  return answered(deps, { refund: refundView(after), auditId }, remember);
}

async function claim(deps: RetryDeps, input: RetryInput) {
  const now = deps.clock.now();
  const refund = await deps.repo.getRefund(input.refundId);
  if (!refund) throw new NotFoundError('refund', input.refundId);
  if (refund.status !== 'abnormal')
    throw new NoLongerWaitingError('refund', refund.refundId, refundView(refund), `is ${refund.status}, not abnormal`);
  const provider: PaymentProvider = providerFor(deps, refund);
  if (!provider.retryAbnormalRefund)
    throw new RefundRetryNotSupportedError(refund.refundId, `${refund.method} has no re-submission; settle it offline`);
  if (!refund.providerRefundId)
    throw new RefundRetryNotSupportedError(refund.refundId, `${refund.method} never gave it a refund id`);
  const change = {
    to: 'processing' as const,
    now,
    reason: `re-submitted to ${input.destination.type} by ${input.actor}: ${input.reason}`,
    set: { providerStatus: 'RESUBMITTED' },
  };
  const after = transitionRefund(refund, change);
  const audit = auditRecord(now, input, {
    kind: 'refund',
    id: refund.refundId,
    action: 'retry',
    before: refundSummary(refund),
    after: { ...refundSummary(after), destination: input.destination.type },
    subject: subjectOf(refund),
  });
  const moved = await settleRefund(deps, refund, change, [audit.write], [audit.event]);
  return { refund: moved ?? after, provider, auditId: audit.entry.auditId };
}

/** Nothing was sent: the refund waits again, with the provider's word on why in a second audit line. */
async function refused(
  deps: RetryDeps,
  input: RetryInput,
  claimed: Refund,
  answer: Extract<AbnormalRefundRetryAnswer, { outcome: 'refused' }>,
): Promise<never> {
  const current = await decideAgainOnStale(async () => {
    const refund = await deps.repo.getRefund(claimed.refundId);
    if (refund?.status !== 'processing') return refund;
    const now = deps.clock.now();
    const change = {
      to: 'abnormal' as const,
      now,
      reason: `re-submission refused by ${refund.method}: ${answer.reason}`,
      set: { providerStatus: answer.providerStatus },
    };
    const audit = auditRecord(
      now,
      { actor: input.actor, reason: answer.reason },
      {
        kind: 'refund',
        id: refund.refundId,
        action: 'retry-refused',
        before: refundSummary(refund),
        after: refundSummary(transitionRefund(refund, change)),
        subject: subjectOf(refund),
      },
    );
    return (await settleRefund(deps, refund, change, [audit.write], [audit.event])) ?? refund;
  });
  throw new RefundRetryRefusedError(
    claimed.refundId,
    answer.providerStatus,
    answer.reason,
    current && refundView(current),
  );
}

/** The answer, remembered under the request's Idempotency-Key (a replay shows it again). */
async function answered<T>(deps: RetryDeps, body: T, remember?: (body: unknown) => Write[]): Promise<T> {
  const writes = remember?.(body) ?? [];
  if (writes.length) await deps.repo.commit(writes);
  return body;
}
