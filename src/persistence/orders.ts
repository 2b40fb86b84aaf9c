import type { ListWindow, Page } from '../core/kernel/page';
import type { OrderFilter, OrdersPage, OrderWrite } from '../core/orders/ports';
import { AlreadyExistsError, NotFoundError, StaleStateError, TooManyPendingOrdersError } from '../domain/errors';
import type { Order } from '../domain/order';
import type { Payment } from '../domain/payment';
import { browsePage, equalsFilter, readInOrder, recentPage, tableKeys } from './browse';
import { customerOrdersKey, duePlace, key, recentPlace } from './keys';
import { paginate } from './paginate';
import { pickState, putIfAbsent, returnOld, type WriteBuilders } from './prepared-write';
import { dueQueries, duePage, type DueOptions } from './due-index';
import type { DynamoTable } from './table';

/**
 * Pending with no open payment: in the due index by when it became unpaid; in any other state it
 * drops out. Always in its customer's list and the recent orders, by when it was made.
 */
export function orderItem(order: Order): Record<string, unknown> {
  const unpaidSince = order.status === 'pending' && !order.openPaymentId ? order.unpaidSince : undefined;
  return {
    ...key.order(order.orderId),
    kind: 'order',
    ...order,
    ...duePlace('ORDER', order.orderId, unpaidSince),
    browseKey: customerOrdersKey(order.customerId),
    browseAt: order.createdAt,
    ...recentPlace('ORDER', order.orderId, order.createdAt),
  };
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
  return duePage<Order>(table, page, (order) => order.unpaidSince ?? '');
}

/** The payment an order's list entry shows: the one that paid it, else its latest. */
export const currentPaymentId = (order: Partial<Pick<Order, 'paidByPaymentId' | 'paymentIds'>>): string | undefined =>
  order.paidByPaymentId ?? order.paymentIds?.at(-1);

/**
 * Orders newest first, each with its current payment. A customer's come from their own Browse
 * partition, which carries each order's status (filtered in the query) and payment ids, so the
 * orders and their payments are read in one batch: one Query and one BatchGetItem a page. Without
 * a customer, every order's Recent shards (keys only): the status is checked on the items read.
 */
export async function listOrders(table: DynamoTable, filter: OrderFilter, window: ListWindow): Promise<OrdersPage> {
  const binding = `orders|${filter.status ?? ''}|${window.from ?? ''}|${window.to ?? ''}`;
  const page = filter.customerId
    ? await browsePage(table, customerOrdersKey(filter.customerId), {
        window,
        binding,
        filter: equalsFilter({ status: filter.status }),
      })
    : await recentPage(table, 'ORDER', { window, binding, filteredAfterRead: filter.status !== undefined });
  const projected = page.items.flatMap((item) => currentPaymentId(item as Partial<Order>) ?? []);
  const read = await readInOrder<Order | Payment>(table, [...tableKeys(page.items), ...projected.map(key.payment)]);
  const orders = read.filter(isOrder).filter((order) => !filter.status || order.status === filter.status);
  const payments = read.filter((item): item is Payment => !isOrder(item));
  const unread = orders
    .flatMap((order) => currentPaymentId(order) ?? [])
    .filter((paymentId) => !payments.some((payment) => payment.paymentId === paymentId));
  payments.push(...(await readInOrder<Payment>(table, unread.map(key.payment))));
  return { items: orders, payments, cursor: page.cursor };
}

const isOrder = (item: Order | Payment): item is Order => 'items' in item;
