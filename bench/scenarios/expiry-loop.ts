import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createTable } from '../../local/dynamodb-emulator';
import { startOutboxPublisher } from '../../local/outbox-stream';
import { type Runtime } from '../../local/runtime';
import { DynamoRepository } from '../../src/persistence/dynamo-repository';
import { createOrders } from '../../src/core/orders/orders';
import { localWiring } from '../../src/runtime/wiring';
import { sweepAndSettle } from '../../test/support/sweep';
import { invocationLogs } from '../lambda-logs';
import { SKU } from '../common';
import type { CapacityMeter } from './payment-loop';
import { meterReading, unitsSince } from './payment-loop';

/**
 * An order never paid: created, reminded, its payment expired, then the order cancelled and its
 * stock released, each by a sweeper run (a clock moved by hand). Per order, sweeper runs shared by 40.
 */
export async function expiryLoopUsage(runtime: Runtime, meter: CapacityMeter) {
  let now = Date.now();
  // A table of its own: the throughput runs left thousands of unpaid orders in the runtime's.
  await createTable(runtime.dynamo.client, 'expiry-loop');
  const repo = new DynamoRepository({ client: runtime.dynamo.client, tableName: 'expiry-loop' });
  await repo.commit([{ kind: 'putProduct', product: { sku: SKU, name: 'Bench item', price: 100, stock: 1_000_000 } }]);
  const deps = { ...runtime.deps, repo, clock: { now: () => new Date(now) } };
  const publisher = await startOutboxPublisher({
    dynamo: runtime.dynamo.client,
    endpoint: runtime.dynamo.endpoint,
    tableName: 'expiry-loop',
    publisher: { wiring: localWiring(async () => deps) },
  });
  const orders = 40;
  for (let i = 0; i < orders; i++)
    await createOrders(deps, {
      customerId: `exp-${randomUUID()}`,
      orders: [{ items: [{ sku: SKU, quantity: 1 }] }],
      method: 'bank',
    });
  await publisher.idle(); // the creations' events are not the expiry's
  const before = { ...(await meterReading(meter)), events: runtime.bus.published.length };
  const logs = invocationLogs(deps);
  const sweeps: number[] = [];
  const sweepAt = async (minutes: number) => {
    now += minutes * 60_000;
    const started = performance.now();
    await sweepAndSettle(deps);
    sweeps.push(performance.now() - started);
    await publisher.idle();
    logs.invoked('sweeper');
  };
  await sweepAt(deps.timing.ttlMinutes - deps.timing.reminderMinutes + 1); // reminders
  await sweepAt(deps.timing.reminderMinutes + 5); // expiry, past the grace
  await sweepAt(deps.orders.unpaidCancelMinutes + 1); // unpaid orders cancelled, stock back
  await publisher.stop();
  return {
    ...(await unitsSince(meter, before, orders)),
    events: (runtime.bus.published.length - before.events) / orders,
    logBytes: logs.bytes() / orders,
    sweeperRunMs: sweeps,
  };
}
