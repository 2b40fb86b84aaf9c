import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject, beforeEach, describe, expect, it } from 'vitest';
import { startOutboxPublisher } from '../../local/outbox-stream';
import { commitWithEvents } from '../../src/core/outbox/outbox';
import type { DomainEvent } from '../../src/domain/events';
import { localWiring } from '../../src/runtime/wiring';
import { createTestEnv, type TestEnv } from '../support/harness';

/**
 * The local stand-in for Lambda's stream event source (local/dynamodb-stream-source.ts) on a real
 * DynamoDB Local stream: where it stopped survives a restart of `npm start`, as the mapping's
 * position does, so a restart neither repeats nor skips events.
 */

let env: TestEnv;
let checkpointFile: string;

const created = (n: number): DomainEvent => ({
  id: `ord_${n}:OrderCreated:1`,
  type: 'OrderCreated',
  occurredAt: '2026-11-25T04:00:00.000Z',
  detail: { orderId: `ord_${n}`, customerId: 'cust_alice' },
});
const publisher = () =>
  startOutboxPublisher({
    dynamo: env.client,
    endpoint: inject('dynamoEndpoint'),
    tableName: env.tableName,
    publisher: { wiring: localWiring(async () => env.deps) },
    checkpointFile,
  });
const published = () => env.bus.published.map((event) => event.id);

beforeEach(async () => {
  env = await createTestEnv();
  checkpointFile = join(mkdtempSync(join(tmpdir(), 'stream-checkpoint-')), 'checkpoint.json');
});

describe('the local stream event source', () => {
  it('resumes after its checkpoint when started again: nothing published twice, nothing skipped', async () => {
    for (const n of [1, 2, 3]) await commitWithEvents(env.deps, [], [created(n)]);
    const first = await publisher();
    await first.idle();
    await first.stop();
    expect(published()).toEqual([1, 2, 3].map((n) => created(n).id));

    for (const n of [4, 5]) await commitWithEvents(env.deps, [], [created(n)]);
    const second = await publisher();
    await second.idle();
    await second.stop();

    expect(published()).toEqual([1, 2, 3, 4, 5].map((n) => created(n).id));
  });

  it('reads from the oldest record kept when its checkpoint names one the stream no longer has', async () => {
    await commitWithEvents(env.deps, [], [created(1)]);
    const first = await publisher();
    await first.idle();
    await first.stop();
    const saved = JSON.parse(readFileSync(checkpointFile, 'utf8')) as {
      streamArn: string;
      checkpoints: Record<string, string>;
    };
    // As a `.local` database started again days later finds it: its position trimmed away.
    const [shardId] = Object.keys(saved.checkpoints);
    writeFileSync(checkpointFile, JSON.stringify({ ...saved, checkpoints: { [shardId!]: '000000000000000000000' } }));
    env.bus.published.length = 0;

    const second = await publisher();
    await second.idle();
    await second.stop();

    expect(published()).toEqual([created(1).id]);
  });
});
