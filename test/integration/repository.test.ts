import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { CreateTableCommand, DynamoDBServiceException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoRepository } from '../../src/persistence/dynamo-repository';
import { paymentShard } from '../../src/persistence/keys';
import { INDEXES, TABLE, TABLE_ATTRIBUTES } from '../../src/persistence/table-definition';
import { type DedupeRecord, NotificationAlreadyAppliedError } from '../../src/core/payments/notification-ports';
import { type IdempotencyRecord, IdempotencyRecordExistsError } from '../../src/core/kernel/idempotency-ports';
import type { Write } from '../../src/core/kernel/ports';
import {
  AlreadyExistsError,
  DomainError,
  NotFoundError,
  type Order,
  OutOfStockError,
  type Payment,
  type PaymentStatus,
  type Product,
  settlePayment,
  StaleStateError,
} from '../../src/domain';
import { newPayment, newPurchase, type Purchase, purchaseWrites, transitionWrite } from '../support/domain-fixtures';
import { createTestEnv, type TestEnv } from '../support/harness';

const TEA: Product = { sku: 'TEA-001', name: 'Longjing tea 250 g', price: 12_800, stock: 100 };
const CUP: Product = { sku: 'CUP-002', name: 'Celadon cup', price: 4_550, stock: 5 };
const CATALOGUE = [TEA, CUP];
const MINUTE_MS = 60_000;

let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv();
  await env.seedProducts(CATALOGUE);
});

/** The error a commit failed with; fails the test if it committed. */
function rejectionOf(commit: Promise<unknown>): Promise<unknown> {
  return commit.then(
    () => {
      throw new Error('expected the commit to fail');
    },
    (error: unknown) => error,
  );
}

/** How many of concurrent commits went through, and what the others failed with. */
async function race(commits: Array<Promise<unknown>>) {
  const settled = await Promise.allSettled(commits);
  return {
    committed: settled.filter((result) => result.status === 'fulfilled').length,
    errors: settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : [])),
  };
}

const keysOf = (items: Array<Record<string, unknown>>) => items.map((item) => String(item.pk)).sort();
const stockOf = async (sku: string) => (await env.repo.getProducts([sku])).get(sku)?.stock;
const rawItem = async (pk: string) => (await env.scan()).find((item) => item.pk === pk);

/** A placed purchase (order + payment + stock in one commit), as stored. */
async function placePurchase(orderId: string, items = [{ sku: TEA.sku, quantity: 1 }]): Promise<Purchase> {
  const purchase = newPurchase({
    orderId,
    paymentId: `pay-${orderId}`,
    items,
    catalogue: CATALOGUE,
    now: env.clock.now(),
  });
  await env.repo.commit(purchaseWrites(purchase));
  return purchase;
}

/** Commits a transition of the stored payment and returns it as stored afterwards. */
async function movePayment(payment: Payment, to: PaymentStatus): Promise<Payment> {
  await env.repo.commit([transitionWrite(payment, to, env.clock.now())]);
  return (await env.repo.getPayment(payment.paymentId))!;
}

describe('placing orders', () => {
  it('writes the order, its payment and the stock reservations in one commit, and nothing else', async () => {
    const purchase = newPurchase({
      orderId: 'ord-1',
      paymentId: 'pay-1',
      items: [
        { sku: TEA.sku, quantity: 3 },
        { sku: CUP.sku, quantity: 2 },
      ],
      catalogue: CATALOGUE,
      now: env.clock.now(),
    });

    await env.repo.commit(purchaseWrites(purchase));

    const items = await env.scan();
    expect(keysOf(items)).toEqual(['ORDER#ord-1', 'PAYMENT#pay-1', `PRODUCT#${CUP.sku}`, `PRODUCT#${TEA.sku}`]);
    expect(Object.fromEntries((await env.repo.listProducts()).map((product) => [product.sku, product.stock]))).toEqual({
      [TEA.sku]: 97,
      [CUP.sku]: 3,
    });
    const order = await env.repo.getOrder('ord-1');
    expect(order).toEqual(purchase.order);
    expect(order?.openPaymentId).toBe('pay-1');
    expect(await env.repo.getPayment('pay-1')).toEqual(purchase.payment);
    // Open, so the sweeper finds it: in the due index at its reminder time.
    expect(items.find((item) => item.pk === 'PAYMENT#pay-1')).toMatchObject({
      dueShard: paymentShard('pay-1'),
      dueAt: purchase.payment.remindAt,
    });
    const due = await env.repo.findDuePayments(new Date(purchase.payment.remindAt!), { limit: 10 });
    expect(due.items.map((payment) => payment.paymentId)).toEqual(['pay-1']);
  });

  it('10 concurrent orders for the last 5 in stock: 5 are placed, 5 are refused as out of stock, nothing is oversold', async () => {
    const attempts = Array.from({ length: 10 }, (_, i) =>
      newPurchase({
        orderId: `ord-${i}`,
        paymentId: `pay-${i}`,
        items: [{ sku: CUP.sku, quantity: 1 }],
        catalogue: CATALOGUE,
        now: env.clock.now(),
      }),
    );

    const { committed, errors } = await race(attempts.map((purchase) => env.repo.commit(purchaseWrites(purchase))));

    expect(committed).toBe(5);
    expect(errors).toHaveLength(5);
    for (const error of errors) {
      expect(error).toBeInstanceOf(OutOfStockError);
      expect(error).toMatchObject({ sku: CUP.sku, requested: 1, available: 0 });
    }
    expect(await stockOf(CUP.sku)).toBe(0);
    const kinds = (await env.scan()).map((item) => item.kind);
    expect(kinds.filter((kind) => kind === 'order')).toHaveLength(5);
    expect(kinds.filter((kind) => kind === 'payment')).toHaveLength(5);
  });

  it('an order for two SKUs where the second is short is refused naming that SKU, and the first keeps its stock', async () => {
    const purchase = newPurchase({
      orderId: 'ord-1',
      paymentId: 'pay-1',
      items: [
        { sku: TEA.sku, quantity: 2 },
        { sku: CUP.sku, quantity: 6 },
      ],
      catalogue: CATALOGUE,
      now: env.clock.now(),
    });

    const error = await rejectionOf(env.repo.commit(purchaseWrites(purchase)));

    expect(error).toBeInstanceOf(OutOfStockError);
    expect(error).toMatchObject({ sku: CUP.sku, requested: 6, available: 5 });
    expect(await stockOf(TEA.sku)).toBe(100);
    expect(await stockOf(CUP.sku)).toBe(5);
    expect(keysOf(await env.scan())).toEqual([`PRODUCT#${CUP.sku}`, `PRODUCT#${TEA.sku}`]);
  });

  it('an order id that already exists is refused and nothing of that transaction is written', async () => {
    await placePurchase('ord-1');
    const before = await env.scan();
    const retry = newPurchase({
      orderId: 'ord-1',
      paymentId: 'pay-other',
      items: [{ sku: CUP.sku, quantity: 1 }],
      catalogue: CATALOGUE,
      now: env.clock.now(),
    });

    const error = await rejectionOf(env.repo.commit(purchaseWrites(retry)));

    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect(error).toMatchObject({ entity: 'order', id: 'ord-1' });
    expect(await env.scan()).toEqual(before);
  });
});

describe('the catalogue', () => {
  const numbered = (n: number): Product => ({
    sku: `SKU-${String(n).padStart(3, '0')}`,
    name: `Product ${n}`,
    price: 100 + n,
    stock: n,
  });

  it('lists 150 products (two batch reads) whole and in sku order, with the stock as orders left it', async () => {
    const catalogue = Array.from({ length: 150 }, (_, n) => numbered(n));
    await env.seedProducts([...catalogue].reverse());
    await placePurchase('ord-1', [{ sku: TEA.sku, quantity: 4 }]);

    const listed = await env.repo.listProducts();

    expect(listed).toEqual([CUP, ...catalogue, { ...TEA, stock: TEA.stock - 4 }]);
  });

  it('lists the products from a database whose catalogue index still projects every attribute (a .local kept from before)', async () => {
    const tableName = `payments-${randomUUID()}`;
    await env.client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: TABLE_ATTRIBUTES.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        KeySchema: [
          { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: INDEXES.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection:
            index === TABLE.catalogIndex
              ? { ProjectionType: 'ALL' }
              : {
                  ProjectionType: index.projection,
                  ...(index.nonKeyAttributes ? { NonKeyAttributes: [...index.nonKeyAttributes] } : {}),
                },
        })),
      }),
    );
    const repo = new DynamoRepository({ client: env.client, tableName });
    for (const product of CATALOGUE) await repo.commit([{ kind: 'putProduct', product }]);

    expect(await repo.listProducts()).toEqual([CUP, TEA]);
  });
});

describe('payment transitions', () => {
  it('20 concurrent terminal transitions of one processing payment: exactly one wins, the rest see the state it left', async () => {
    const { payment } = await placePurchase('ord-1');
    const processing = await movePayment(payment, 'processing');
    const targets: PaymentStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];

    const { committed, errors } = await race(
      Array.from({ length: 20 }, (_, i) =>
        env.repo.commit([transitionWrite(processing, targets[i % targets.length]!, env.clock.now(), `attempt ${i}`)]),
      ),
    );

    const stored = (await env.repo.getPayment(payment.paymentId))!;
    expect(committed).toBe(1);
    expect(errors).toHaveLength(19);
    for (const error of errors) {
      expect(error).toBeInstanceOf(StaleStateError);
      expect((error as StaleStateError).details).toMatchObject({
        entity: 'payment',
        current: { status: stored.status, version: stored.version },
      });
    }
    expect(targets).toContain(stored.status);
    expect(stored.version).toBe(processing.version + 1);
    expect(stored.logs.filter((entry) => entry.from === 'processing')).toHaveLength(1);
  });

  it('a transition committed on its own, whose answer the network lost, is answered as committed when the SDK retries it', async () => {
    const { payment } = await placePurchase('ord-1');
    let lost = 0;
    // After DynamoDB applied the first attempt, the connection drops: the SDK's retry sends it again.
    env.client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        if (lost++ === 0) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', $metadata: {} });
        return result;
      },
      { step: 'deserialize', name: 'lostAnswer' },
    );

    const started = transitionWrite(payment, 'processing', env.clock.now());
    await env.repo.commit([started]);

    expect(lost).toBe(2); // the second attempt reached DynamoDB and failed its condition on our own write
    expect(await env.repo.getPayment(payment.paymentId)).toEqual(started.after);
    // Another writer's commit of the very same transition is still a conflict: only one of them committed.
    env.client.middlewareStack.remove('lostAnswer');
    expect(await rejectionOf(env.repo.commit([started]))).toBeInstanceOf(StaleStateError);
  });

  it('a terminal transition takes the payment out of the due index', async () => {
    const { payment } = await placePurchase('ord-1');
    const afterExpiry = new Date(Date.parse(payment.expiresAt) + MINUTE_MS);
    expect((await env.repo.findDuePayments(afterExpiry, { limit: 10 })).items).toHaveLength(1);

    await movePayment(payment, 'cancelled');

    expect((await env.repo.findDuePayments(afterExpiry, { limit: 10 })).items).toEqual([]);
    const item = await rawItem(`PAYMENT#${payment.paymentId}`);
    expect(item?.status).toBe('cancelled');
    expect(item).not.toHaveProperty(TABLE.dueIndex.partitionKey);
    expect(item).not.toHaveProperty(TABLE.dueIndex.sortKey);
  });

  it('a success settles the payment and pays the order in one transaction', async () => {
    const { order, payment } = await placePurchase('ord-1');
    const processing = await movePayment(payment, 'processing');

    const settlement = settlePayment(processing, order, {
      to: 'succeeded',
      now: env.clock.now(),
      source: 'provider',
      reason: 'wechat callback: SUCCESS',
    });
    if (settlement.kind !== 'applied' || !settlement.order)
      throw new Error(`expected the success to pay the order, got ${settlement.kind}`);
    await env.repo.commit([
      { kind: 'updatePayment', before: processing, after: settlement.payment },
      { kind: 'updateOrder', before: order, after: settlement.order },
    ]);

    expect(await env.repo.getPayment(payment.paymentId)).toMatchObject({
      status: 'succeeded',
      version: processing.version + 1,
    });
    const paid = await env.repo.getOrder(order.orderId);
    expect(paid).toMatchObject({ status: 'paid', paidByPaymentId: payment.paymentId, version: order.version + 1 });
    expect(paid).not.toHaveProperty('openPaymentId');
  });

  it('a settlement against an order that changed meanwhile fails whole: the payment is not settled either', async () => {
    const { order, payment } = await placePurchase('ord-1');
    const processing = await movePayment(payment, 'processing');
    const settlement = settlePayment(processing, order, {
      to: 'succeeded',
      now: env.clock.now(),
      source: 'provider',
      reason: 'alipay callback: TRADE_SUCCESS',
    });
    if (settlement.kind !== 'applied' || !settlement.order)
      throw new Error(`expected the success to pay the order, got ${settlement.kind}`);
    const touched: Order = {
      ...order,
      updatedAt: new Date(env.clock.now().getTime() + 1).toISOString(),
      version: order.version + 1,
    };
    await env.repo.commit([{ kind: 'updateOrder', before: order, after: touched }]);

    const error = await rejectionOf(
      env.repo.commit([
        { kind: 'updatePayment', before: processing, after: settlement.payment },
        { kind: 'updateOrder', before: order, after: settlement.order },
      ]),
    );

    expect(error).toBeInstanceOf(StaleStateError);
    expect(error).toMatchObject({
      entity: 'order',
      id: order.orderId,
      current: { status: 'pending', version: touched.version },
    });
    expect(await env.repo.getPayment(payment.paymentId)).toEqual(processing);
    expect(await env.repo.getOrder(order.orderId)).toEqual(touched);
  });

  it('two concurrent new payments for an order with a free payment slot: exactly one takes it', async () => {
    const { order, payment } = await placePurchase('ord-1');
    const failure = settlePayment(payment, order, {
      to: 'cancelled',
      now: env.clock.now(),
      source: 'customer',
      reason: 'customer closed the page',
    });
    if (failure.kind !== 'applied' || !failure.order)
      throw new Error(`expected the cancellation to free the slot, got ${failure.kind}`);
    await env.repo.commit([
      { kind: 'updatePayment', before: payment, after: failure.payment },
      { kind: 'updateOrder', before: order, after: failure.order },
    ]);
    const slotFree = (await env.repo.getOrder(order.orderId))!;
    expect(slotFree.openPaymentId).toBeUndefined();

    const repays = ['pay-a', 'pay-b'].map((paymentId): Write[] => [
      {
        kind: 'createPayment',
        payment: newPayment({ paymentId, orderId: order.orderId, amount: order.totalAmount, now: env.clock.now() }),
      },
      {
        kind: 'updateOrder',
        before: slotFree,
        after: {
          ...slotFree,
          openPaymentId: paymentId,
          paymentIds: [...slotFree.paymentIds, paymentId],
          version: slotFree.version + 1,
        },
      },
    ]);
    const { committed, errors } = await race(repays.map((writes) => env.repo.commit(writes)));

    expect(committed).toBe(1);
    expect(errors).toEqual([expect.any(StaleStateError)]);
    const stored = (await env.repo.getOrder(order.orderId))!;
    const loser = stored.openPaymentId === 'pay-a' ? 'pay-b' : 'pay-a';
    expect(['pay-a', 'pay-b']).toContain(stored.openPaymentId);
    expect(await env.repo.getPayment(loser)).toBeUndefined();
  });
});

describe('the sweeper query', () => {
  it('returns exactly the open payments due by the given time, each once across pages, earliest first within a page', async () => {
    const now = env.clock.now();
    const dueBy = new Date(now.getTime() + 30 * MINUTE_MS);
    // Reminders off, so each payment is due at its expiry. Minute 30 is due: the bound is inclusive.
    const opened = (prefix: string, count: number, ttlMinutes: (i: number) => number) =>
      Array.from({ length: count }, (_, i) =>
        newPayment({
          paymentId: `${prefix}-${i}`,
          orderId: `ord-${prefix}-${i}`,
          now,
          timing: { ttlMinutes: ttlMinutes(i), reminderMinutes: 0 },
        }),
      );
    const due = opened('due', 57, (i) => 1 + (i % 30));
    const later = opened('later', 8, (i) => 31 + i);
    const ended = opened('ended', 6, (i) => 1 + i);
    await Promise.all(
      [...due, ...later, ...ended].map((payment) => env.repo.commit([{ kind: 'createPayment', payment }])),
    );
    await Promise.all(
      ended.map((payment, i) => env.repo.commit([transitionWrite(payment, i % 2 ? 'cancelled' : 'expired', now)])),
    );
    const dueIds = due.map((payment) => payment.paymentId).sort();

    const all = await env.repo.findDuePayments(dueBy, { limit: 1_000 });
    expect(all.items.map((payment) => payment.paymentId).sort()).toEqual(dueIds);
    expect(all.cursor).toBeUndefined();

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await env.repo.findDuePayments(dueBy, { limit: 10, cursor });
      expect(page.items.length).toBeLessThanOrEqual(10);
      const expiries = page.items.map((payment) => payment.expiresAt);
      expect(expiries).toEqual([...expiries].sort());
      seen.push(...page.items.map((payment) => payment.paymentId));
      cursor = page.cursor;
      pages += 1;
    } while (cursor && pages < 20);
    expect(cursor).toBeUndefined();
    expect(seen.sort()).toEqual(dueIds);
    expect(pages).toBeGreaterThanOrEqual(6);
  });
});

describe('once-only records', () => {
  const now = new Date('2026-11-25T04:00:00.000Z');
  const idempotency: IdempotencyRecord = {
    customerId: 'cust-1',
    key: 'key-1',
    requestHash: 'hash-1',
    response: { statusCode: 201, body: { orderId: 'ord-1' } },
    createdAt: now.toISOString(),
    expiresAt: '2026-11-26T04:00:00.000Z',
  };
  const dedupe: DedupeRecord = {
    provider: 'wechat',
    eventId: 'evt-1',
    paymentId: 'pay-1',
    appliedAt: now.toISOString(),
    result: 'succeeded',
    expiresAt: '2026-12-25T04:00:00.000Z',
  };

  it('a second idempotency record or notification record for the same key is refused with its own error', async () => {
    await placePurchase('ord-1');
    await env.repo.commit([{ kind: 'recordIdempotency', record: idempotency }]);
    await env.repo.commit([{ kind: 'recordNotification', record: dedupe }]);

    expect(await rejectionOf(env.repo.commit([{ kind: 'recordIdempotency', record: idempotency }]))).toBeInstanceOf(
      IdempotencyRecordExistsError,
    );
    expect(await rejectionOf(env.repo.commit([{ kind: 'recordNotification', record: dedupe }]))).toBeInstanceOf(
      NotificationAlreadyAppliedError,
    );

    // Only these records expire (TTL); orders and payments are financial records and never do.
    const byKind = Object.fromEntries((await env.scan()).map((item) => [item.kind, item]));
    expect(byKind.idempotency?.[TABLE.ttlAttribute]).toBe(Date.parse(idempotency.expiresAt) / 1000);
    expect(byKind.notification?.[TABLE.ttlAttribute]).toBe(Date.parse(dedupe.expiresAt) / 1000);
    for (const kind of ['order', 'payment', 'product']) expect(byKind[kind]).not.toHaveProperty(TABLE.ttlAttribute);
  });

  it('a retried request that also fails on stock reports the idempotency record, which explains the rest', async () => {
    await env.repo.commit([{ kind: 'recordIdempotency', record: idempotency }]);
    const retry = newPurchase({
      orderId: 'ord-2',
      paymentId: 'pay-2',
      items: [{ sku: CUP.sku, quantity: 6 }],
      catalogue: CATALOGUE,
      now,
    });

    const error = await rejectionOf(
      env.repo.commit([...purchaseWrites(retry), { kind: 'recordIdempotency', record: idempotency }]),
    );

    expect(error).toBeInstanceOf(IdempotencyRecordExistsError);
    expect(error).toMatchObject({ customerId: 'cust-1', key: 'key-1' });
  });

  it('keeps the first response gzipped and replays it as it was, also from a record an earlier version stored as a map', async () => {
    await env.repo.commit([{ kind: 'recordIdempotency', record: idempotency }]);

    const stored = await rawItem('IDEMP#cust-1#key-1');
    expect(stored).not.toHaveProperty('response');
    expect(JSON.parse(gunzipSync(stored?.responseGzip as Uint8Array).toString('utf8'))).toEqual(idempotency.response);
    expect(await env.repo.getIdempotencyRecord('cust-1', 'key-1')).toEqual(idempotency);
    expect(await rejectionOf(env.repo.commit([{ kind: 'recordIdempotency', record: idempotency }]))).toMatchObject({
      existing: idempotency,
    });

    const earlier = { ...idempotency, key: 'key-2' };
    await env.client.send(
      new PutItemCommand({
        TableName: env.tableName,
        Item: marshall({ pk: 'IDEMP#cust-1#key-2', sk: 'IDEMP', kind: 'idempotency', ...earlier }),
      }),
    );
    expect(await env.repo.getIdempotencyRecord('cust-1', 'key-2')).toEqual(earlier);
    expect(await rejectionOf(env.repo.commit([{ kind: 'recordIdempotency', record: earlier }]))).toMatchObject({
      existing: earlier,
    });
  });
});

describe('failed conditions surface as domain errors', () => {
  it('every conditional write that fails raises its typed DomainError, never a raw SDK exception', async () => {
    const { order, payment } = await placePurchase('ord-1');
    const stranger = newPurchase({
      orderId: 'ord-none',
      paymentId: 'pay-none',
      items: [{ sku: TEA.sku, quantity: 1 }],
      catalogue: CATALOGUE,
      now: env.clock.now(),
    });
    const staleOrder = { ...order, version: order.version - 1 };
    const stalePayment = { ...payment, version: payment.version - 1 };
    const failing: Array<[Write, new (...args: never[]) => DomainError]> = [
      [{ kind: 'createOrder', order }, AlreadyExistsError],
      [{ kind: 'createPayment', payment }, AlreadyExistsError],
      [{ kind: 'putProduct', product: TEA }, AlreadyExistsError],
      [{ kind: 'updateOrder', before: staleOrder, after: order }, StaleStateError],
      [{ kind: 'updateOrder', before: stranger.order, after: stranger.order }, NotFoundError],
      [transitionWrite(stalePayment, 'cancelled', env.clock.now()), StaleStateError],
      [transitionWrite(stranger.payment, 'cancelled', env.clock.now()), NotFoundError],
      [{ kind: 'adjustStock', sku: CUP.sku, delta: -6 }, OutOfStockError],
      [{ kind: 'adjustStock', sku: 'NO-SUCH-SKU', delta: -1 }, NotFoundError],
    ];

    for (const [write, expected] of failing) {
      const error = await rejectionOf(env.repo.commit([write]));
      expect(error, write.kind).toBeInstanceOf(expected);
      expect(error, write.kind).toBeInstanceOf(DomainError);
      expect(error, write.kind).not.toBeInstanceOf(DynamoDBServiceException);
    }
  });
});
