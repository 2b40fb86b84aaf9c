import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynamoEmulator } from '../local/dynamodb-emulator';
import { createOrders } from '../src/core/orders/orders';
import { applyNotification } from '../src/core/payments/notifications';
import { settleParkedPayment } from '../src/core/staff/payment-actions';
import { INDEXES } from '../src/persistence/table-definition';
import { createEnvAt, DEMO_PRODUCTS } from '../test/support/harness';

/**
 * `npx tsx bench/index-write-units.ts`: the secondary indexes' write units per payment, index by
 * index, as DynamoDB Local reports them (ReturnConsumedCapacity INDEXES, the figure the bench's
 * cost table adds to the table's part: bench/scenarios/payment-loop.ts): an order with its payment
 * created, then paid by the provider; and a payment parked for review, then accepted by a person.
 */
type Units = Record<string, number>;

/** Each write's index units, as DynamoDB Local reports them, added up in `step`. */
function indexMeter(client: DynamoDBClient) {
  const meter: { step: Units } = { step: {} };
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = (args as { input: Record<string, unknown> }).input;
      input.ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      type Consumed = { GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }> };
      const consumed = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
      for (const c of [consumed ?? []].flat())
        for (const [index, units] of Object.entries(c.GlobalSecondaryIndexes ?? {}))
          meter.step[index] = (meter.step[index] ?? 0) + (units.CapacityUnits ?? 0);
      return result;
    },
    { step: 'initialize', name: 'indexUnits' },
  );
  return meter;
}

async function main() {
  const emulator = await startDynamoEmulator();
  try {
    const env = await createEnvAt(emulator.endpoint);
    await env.seedProducts(DEMO_PRODUCTS);
    const meter = indexMeter(env.client);
    const measure = async (name: string, run: () => Promise<unknown>) => {
      meter.step = {};
      await run();
      const row = Object.fromEntries(INDEXES.map((index) => [index.name, meter.step[index.name] ?? 0]));
      console.log(name.padEnd(40), JSON.stringify(row));
      return row;
    };
    const order = async () =>
      (
        await createOrders(env.deps, {
          customerId: 'cust_bench',
          orders: [{ items: [{ sku: 'TEA-001', quantity: 1 }] }],
          method: 'wechat',
        })
      )[0]!;
    const notify = (paymentId: string, amount: number) =>
      applyNotification(env.deps, {
        provider: 'wechat',
        eventId: `evt_${paymentId}_${amount}`,
        paymentId,
        providerTransactionId: `4200${paymentId.slice(4, 20)}`,
        outcome: 'succeeded',
        amount,
        currency: 'CNY',
        occurredAt: env.clock.now().toISOString(),
        providerStatus: 'SUCCESS',
        via: 'callback',
      });

    let paid!: Awaited<ReturnType<typeof order>>;
    await measure('create order + payment', async () => (paid = await order()));
    await measure('paid (notification applied)', () => notify(paid.payment.paymentId, paid.payment.amount));
    let parked!: Awaited<ReturnType<typeof order>>;
    await measure('create order + payment (to be parked)', async () => (parked = await order()));
    await measure('parked for review', () => notify(parked.payment.paymentId, parked.payment.amount + 100));
    await measure('accepted by a person (+ refund of the extra)', () =>
      settleParkedPayment(env.deps, {
        actor: 'bench',
        reason: 'bench',
        paymentId: parked.payment.paymentId,
        decision: 'accept',
      }),
    );
  } finally {
    await emulator.stop();
  }
}

await main();
