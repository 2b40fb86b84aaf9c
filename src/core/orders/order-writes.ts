import { TooManyPendingOrdersError } from '../../domain/errors';
import type { Order } from '../../domain/order';
import type { Write } from '../kernel/ports';
import { purchasesReleased, restockWrites } from './stock';

/**
 * The writes that store an order change, with what follows from it in the same transaction: its
 * stock back when it is cancelled, and its customer's count of pending orders when it leaves pending.
 */
export function orderChangeWrites(before: Order, after: Order): Write[] {
  const writes: Write[] = [{ kind: 'updateOrder', before, after }];
  if (before.status !== 'pending' || after.status === 'pending') return writes;
  writes.push({ kind: 'countPendingOrders', customerId: before.customerId, delta: -1 });
  if (after.status === 'cancelled') writes.push(...restockWrites(before, before.items), ...purchasesReleased(before));
  return writes;
}

/** New pending orders of one customer, within their limit: a conditional count, so racing creates cannot pass it. */
export function pendingOrdersAdded(customerId: string, count: number, limit: number): Write {
  if (count > limit) throw new TooManyPendingOrdersError(limit);
  return { kind: 'countPendingOrders', customerId, delta: count, limit };
}
