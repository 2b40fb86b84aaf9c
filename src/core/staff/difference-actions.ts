import { type BusinessDate, isBusinessDate } from '../../domain/bill';
import { NoLongerWaitingError, NotFoundError, ValidationError } from '../../domain/errors';
import { PAYMENT_METHODS } from '../../domain/payment';
import { differenceKey, isOpenDifference } from '../../domain/reconciliation';
import type { Uses } from '../kernel/deps';
import type { Commit, Write } from '../kernel/ports';
import type { ProviderName } from '../payments/provider';
import type { ReconciliationStore, StoredDifference } from '../reconciliation/ports';
import { commitAudited, type StaffNote } from './audit';

/**
 * A reconciliation difference's id in the API: its day, provider and key (differenceKey) in one
 * URL-safe token, so a person can act on one difference of the list without spelling out its key.
 */
export const differenceId = (difference: StoredDifference): string =>
  Buffer.from(JSON.stringify([difference.date, difference.provider, differenceKey(difference)])).toString('base64url');

export function parseDifferenceId(id: string): { date: BusinessDate; provider: ProviderName; key: string } {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(id, 'base64url').toString('utf8'));
  } catch {
    parts = undefined;
  }
  const [date, provider, key] = Array.isArray(parts) && parts.length === 3 ? (parts as unknown[]) : [];
  if (
    typeof date !== 'string' ||
    !isBusinessDate(date) ||
    !(PAYMENT_METHODS as readonly unknown[]).includes(provider) ||
    typeof key !== 'string'
  )
    throw new ValidationError('Not a difference id: take it from GET /api/admin/differences', { differenceId: id });
  return { date, provider: provider as ProviderName, key };
}

/** What the API shows of a difference: without the parked notification's body. */
export function differenceView(difference: StoredDifference) {
  const { notification: _parked, ...shown } = difference;
  return { differenceId: differenceId(difference), ...shown };
}

/**
 * A person settles a difference with a note (what they found and did): it leaves the open count
 * and its alarm, and stays visible as resolved by whom. Healed or resolved already: NO_LONGER_WAITING.
 */
export async function resolveDifference(
  deps: Uses<ReconciliationStore & Commit, 'clock'>,
  input: StaffNote & { differenceId: string },
  remember?: (body: unknown) => Write[],
) {
  const { date, provider, key } = parseDifferenceId(input.differenceId);
  const difference = await deps.repo.getDifference(date, provider, key);
  if (!difference) throw new NotFoundError('difference', input.differenceId);
  if (!isOpenDifference(difference))
    throw new NoLongerWaitingError(
      'difference',
      input.differenceId,
      differenceView(difference),
      difference.healed ? 'was healed' : `was resolved by ${difference.resolvedBy}`,
    );
  const now = deps.clock.now().toISOString();
  const { provider: _provider, date: _date, ...stored } = difference;
  const resolved = { ...stored, resolvedBy: input.actor, resolvedAt: now, resolution: input.reason };
  const body = (auditId: string) => ({ difference: differenceView({ ...resolved, provider, date }), auditId });
  const entry = await commitAudited(
    deps,
    input,
    {
      kind: 'difference',
      id: input.differenceId,
      action: 'resolve',
      before: { open: true, kind: difference.kind, ours: difference.ours, theirs: difference.theirs },
      after: { open: false, resolvedBy: input.actor },
      subject: { ...(difference.paymentId ? { paymentId: difference.paymentId } : {}) },
    },
    { writes: [{ kind: 'resolveDifference', provider, date, difference: resolved }], events: [] },
    (entry) => remember?.(body(entry.auditId)) ?? [],
  );
  return body(entry.auditId);
}
