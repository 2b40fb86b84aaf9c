import type { Page } from '../core/kernel/page';
import type { OrderWrite } from '../core/orders/ports';
import { AlreadyExistsError, NotFoundError, StaleStateError, TooManyPendingOrdersError } from '../domain/errors';
import type { Order } from '../domain/order';
import { duePlace, key } from './keys';
import { paginate } from './paginate';
import { pickState, putIfAbsent, returnOld, type WriteBuilders } from './prepared-write';
import { dueQueries, duePage, type DueOptions } from './due-index';
import type { DynamoTable } from './table';

/** Pending with no open payment: in the due index by when it became unpaid; in any other state it drops out. */
export function orderItem(order: Order): Record<string, unknown> {
  const unpaidSince = order.status === 'pending' && !order.openPaymentId ? order.unpaidSince : undefined;
  return { ...key.order(order.orderId), kind: 'order', ...order, ...duePlace('ORDER', order.orderId, unpaidSince) };
}

export const orderWrites: WriteBuilders<OrderWrite['kind']> = {
  createOrder: ({ order }, TableName) =>
    putIfAbsent(TableName, orderItem(order), () => new AlreadyExistsError('order', order.orderId)),
  updateOrder: ({ before, after }, TableName) => {
    const slot = before.openPaymentId === undefined ? 'attribute_not_exists(openPaymentId)' : 'openPaymentId = :slot';
    return {
      item: {
        Put: {
          TableName,
          Item: orderItem(after),
          ConditionExpression: `version = :version AND #status = :status AND ${slot}`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':version': before.version,
            ':status': before.status,
            ...(before.openPaymentId === undefined ? {} : { ':slot': before.openPaymentId }),
          },
          ...returnOld,
        },
      },
      onConditionFailed: (current) =>
        current
          ? new StaleStateError('order', before.orderId, pickState(current))
          : new NotFoundError('order', before.orderId),
    };
  },
  countPendingOrders: ({ customerId, delta, limit }, TableName) => {
    const capped = delta > 0 && limit !== undefined;
    return {
      item: {
        Update: {
          TableName,
          Key: key.customer(customerId),
          UpdateExpression: 'SET #kind = :kind ADD pendingOrders :delta',
          ...(capped ? { ConditionExpression: 'attribute_not_exists(pendingOrders) OR pendingOrders <= :room' } : {}),
          ExpressionAttributeNames: { '#kind': 'kind' },
          ExpressionAttributeValues: {
            ':kind': 'customer',
            ':delta': delta,
            ...(capped ? { ':room': limit - delta } : {}),
          },
        },
      },
      onConditionFailed: () => new TooManyPendingOrdersError(limit ?? 0),
    };
  },
};

export function getOrder(table: DynamoTable, orderId: string): Promise<Order | undefined> {
  return table.getItem<Order>(key.order(orderId));
}

/** Pending orders with no open payment since at or before `unpaidSince`, from the due index. */
export async function findUnpaidOrders(
  table: DynamoTable,
  unpaidSince: Date,
  options: DueOptions,
): Promise<Page<Order>> {
  const page = await paginate(table, { partitions: dueQueries('ORDER', unpaidSince), ...options });
  return duePage<Order>(page, (order) => order.unpaidSince ?? '');
}
