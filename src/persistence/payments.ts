import type { ListWindow, Page } from '../core/kernel/page';
import {
  type PaymentFilter,
  PaymentMismatchError,
  type PaymentWrite,
  RefundCallSpacedError,
  RefundReservationRefusedError,
} from '../core/payments/ports';
import { AlreadyExistsError, NotFoundError, StaleStateError } from '../domain/errors';
import { nextSweepAt, type Payment } from '../domain/payment';
import { type PaymentCondition, paymentConditions } from '../domain/waiting';
import { bothFilters, browsePage, countAttention, equalsFilter, readInOrder, recentPage, tableKeys } from './browse';
import { type DueOptions, duePage, dueQueries } from './due-index';
import {
  ATTENTION_ATTRIBUTE,
  attentionKey,
  attentionPlace,
  duePlace,
  key,
  ledgerPlace,
  recentPlace,
  stripStorage,
} from './keys';
import { paginate } from './paginate';
import { pickState, type PreparedWrite, putIfAbsent, returnOld, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';

/**
 * An open payment is in the due index by its next sweep time (a terminal one drops out); a paid one
 * is in the ledger; one with a flag or money owed back is in the attention set, its conditions with it.
 */
export function paymentItem(payment: Payment): Record<string, unknown> {
  const conditions = paymentConditions(payment);
  return {
    ...key.payment(payment.paymentId),
    kind: 'payment',
    ...payment,
    ...duePlace('PAYMENT', payment.paymentId, nextSweepAt(payment)),
    ...ledgerPlace(
      'PAYMENT',
      payment.method,
      payment.paymentId,
      payment.status === 'succeeded' ? payment.paidAt : undefined,
    ),
    ...recentPlace('PAYMENT', payment.paymentId, payment.createdAt),
    ...(conditions.length > 0
      ? { ...attentionPlace('PAYMENT', payment.createdAt), [ATTENTION_ATTRIBUTE]: new Set(conditions) }
      : {}),
  };
}

export const paymentWrites: WriteBuilders<PaymentWrite['kind']> = {
  createPayment: ({ payment }, TableName) =>
    putIfAbsent(TableName, paymentItem(payment), () => new AlreadyExistsError('payment', payment.paymentId)),
  updatePayment: ({ before, after }, TableName) => ({
    item: {
      Put: {
        TableName,
        Item: paymentItem(after),
        ConditionExpression: 'version = :version AND #status = :status',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':version': before.version, ':status': before.status },
        ...returnOld,
      },
    },
    onConditionFailed: (current) =>
      current
        ? new StaleStateError('payment', before.paymentId, pickState(current))
        : new NotFoundError('payment', before.paymentId),
  }),
  reserveRefund: (write, TableName) => reserveRefund(write, TableName),
  claimRefundCall: ({ paymentId, now, spacingSeconds }, TableName) => {
    const cutoff = new Date(Date.parse(now) - spacingSeconds * 1000).toISOString();
    return {
      item: {
        Update: {
          TableName,
          Key: key.payment(paymentId),
          UpdateExpression: 'SET refundCallAt = :now, version = version + :one',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(refundCallAt) OR refundCallAt <= :cutoff)',
          ExpressionAttributeValues: { ':now': now, ':cutoff': cutoff, ':one': 1 },
          ...returnOld,
        },
      },
      onConditionFailed: (current) => new RefundCallSpacedError(paymentId, current?.refundCallAt as string | undefined),
    };
  },
  checkPaymentMatches: ({ notification }, TableName) => ({
    item: {
      ConditionCheck: {
        TableName,
        Key: key.payment(notification.paymentId),
        ConditionExpression:
          'attribute_not_exists(pk) OR (#method = :method AND #currency = :currency AND #amount = :amount)',
        ExpressionAttributeNames: { '#method': 'method', '#currency': 'currency', '#amount': 'amount' },
        ExpressionAttributeValues: {
          ':method': notification.provider,
          ':currency': notification.currency,
          ':amount': notification.amount,
        },
        ...returnOld,
      },
    },
    onConditionFailed: (current) =>
      current
        ? new PaymentMismatchError(stripStorage<Payment>(current))
        : new NotFoundError('payment', notification.paymentId),
  }),
};

/** DynamoDB conditions cannot add: `refundReserved <= amount − this refund` says the same. */
function reserveRefund(write: Extract<PaymentWrite, { kind: 'reserveRefund' }>, TableName: string): PreparedWrite {
  return {
    item: {
      Update: {
        TableName,
        Key: key.payment(write.paymentId),
        UpdateExpression:
          'SET refundReserved = if_not_exists(refundReserved, :zero) + :amount, refundIds = list_append(if_not_exists(refundIds, :none), :ids), version = version + :one, updatedAt = :now',
        ConditionExpression:
          '#status = :succeeded AND amount = :paymentAmount AND (attribute_not_exists(refundReserved) OR refundReserved <= :room) AND (attribute_not_exists(refundIds) OR size(refundIds) < :limit)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':zero': 0,
          ':one': 1,
          ':amount': write.amount,
          ':none': [],
          ':ids': [write.refundId],
          ':now': write.now,
          ':succeeded': 'succeeded',
          ':paymentAmount': write.paymentAmount,
          ':room': write.paymentAmount - write.amount,
          ':limit': write.limit,
        },
        ...returnOld,
      },
    },
    onConditionFailed: (current) =>
      current
        ? new RefundReservationRefusedError(write.paymentId, current)
        : new NotFoundError('payment', write.paymentId),
  };
}

export function getPayment(table: DynamoTable, paymentId: string): Promise<Payment | undefined> {
  return table.getItem<Payment>(key.payment(paymentId));
}

export function getPayments(table: DynamoTable, paymentIds: readonly string[]): Promise<Payment[]> {
  return table.getInOrder<Payment>(paymentIds, key.payment, (payment) => payment.paymentId);
}

/** Open payments due by `dueBy`, earliest first within a page. */
export async function findDuePayments(table: DynamoTable, dueBy: Date, options: DueOptions): Promise<Page<Payment>> {
  const page = await paginate(table, { partitions: dueQueries('PAYMENT', dueBy), ...options });
  return duePage<Payment>(table, page, (payment) => nextSweepAt(payment) ?? '');
}

/**
 * Every open payment, and only those, has a place in the sparse due index: a COUNT query per
 * shard reads nothing else (its cost is the size of the open payments, paid once a minute).
 */
export async function countOpenPayments(table: DynamoTable): Promise<number> {
  return (await paginate(table, { partitions: dueQueries('PAYMENT', undefined, { Select: 'COUNT' }) })).count;
}

/**
 * Payments newest first. With a condition, the attention set (small: flagged payments and money
 * owed back), filtered in the query on the conditions and status it carries; otherwise every
 * payment's Recent shards (keys only), the status and method checked on the payments read.
 */
export async function listPayments(
  table: DynamoTable,
  filter: PaymentFilter,
  window: ListWindow,
): Promise<Page<Payment>> {
  const binding = `payments|${filter.status ?? ''}|${filter.method ?? ''}|${filter.condition ?? ''}|${window.from ?? ''}|${window.to ?? ''}`;
  const page = filter.condition
    ? await browsePage(table, attentionKey('PAYMENT'), {
        window,
        binding,
        filter: bothFilters(hasCondition(filter.condition), equalsFilter({ status: filter.status })),
        filteredAfterRead: filter.method !== undefined,
      })
    : await recentPage(table, 'PAYMENT', {
        window,
        binding,
        filteredAfterRead: filter.status !== undefined || filter.method !== undefined,
      });
  const payments = await readInOrder<Payment>(table, tableKeys(page.items));
  const wanted = (payment: Payment) =>
    (!filter.status || payment.status === filter.status) &&
    (!filter.method || payment.method === filter.method) &&
    (!filter.condition || paymentConditions(payment).includes(filter.condition));
  return { items: payments.filter(wanted), cursor: page.cursor };
}

export function countPaymentsWith(table: DynamoTable, condition: PaymentCondition): Promise<number> {
  return countAttention(table, 'PAYMENT', hasCondition(condition));
}

const hasCondition = (condition: PaymentCondition) => ({
  expression: 'contains(#attention, :condition)',
  names: { '#attention': ATTENTION_ATTRIBUTE },
  values: { ':condition': condition },
});
