import 'aws-sdk-client-mock-vitest/extend';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventBridgePublisher, MAX_BYTES_PER_CALL } from '../../shared/adapters/eventbridge-publisher';
import type { Logger } from '../../shared/core/deps';
import { Metric } from '../../shared/core/metric-names';
import { commitWithEvents, relayOutbox } from '../../shared/core/outbox';
import type { DomainEvent } from '../../shared/domain/events';
import { createTestEnv, type TestEnv } from '../support/harness';

/**
 * The transactional outbox publishing through the EventBridge adapter (PutEvents mocked: there is
 * no local EventBridge) with the entries in DynamoDB Local.
 */

const eventBridge = mockClient(EventBridgeClient);
const RELAY_GRACE_MS = 60_000;

let env: TestEnv;
let logged: Array<{ level: string; message: string; fields?: Record<string, unknown> }>;

const event = (n: number, padding = 0): DomainEvent => ({
  id: `ord_${n}:OrderCreated:1`,
  type: 'OrderCreated',
  occurredAt: '2026-11-25T04:00:00.000Z',
  detail: { orderId: `ord_${n}`, customerId: 'cust_alice', ...(padding ? { note: 'x'.repeat(padding) } : {}) },
});

/** The event ids each PutEvents call carried. */
const sentIds = () =>
  eventBridge.commandCalls(PutEventsCommand).map((call) => (call.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.Detail!).eventId as string));
const outboxItems = async () => (await env.scan()).filter((item) => item.kind === 'outbox');

/** PutEvents taking every entry. */
const acceptAll = (input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'eb' })) });

beforeEach(async () => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).callsFake(acceptAll);
  logged = [];
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) => void logged.push({ level, message, fields });
  const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  env = await createTestEnv({ logger });
  env.deps.events = eventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), 'payments');
});

describe('the outbox over EventBridge PutEvents', () => {
  it('keeps exactly the events PutEvents refused, and the relay publishes only those, under the same ids', async () => {
    const events = [event(1), event(2), event(3)];
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }, { EventId: 'c' }] })
      .callsFake(acceptAll);

    await commitWithEvents(env.deps, [], events);

    expect((await outboxItems()).map((item) => (item.events as DomainEvent[]).map((e) => e.id))).toEqual([[events[1]!.id]]);
    expect(env.metrics.total(Metric.EventsPublished)).toBe(2);
    expect(env.metrics.total(Metric.OutboxPublishFailed)).toBe(1);

    env.clock.advance(RELAY_GRACE_MS);
    expect(await relayOutbox(env.deps)).toBe(1);

    expect(sentIds()).toEqual([events.map((e) => e.id), [events[1]!.id]]);
    expect(await outboxItems()).toEqual([]);
    expect(env.metrics.total(Metric.EventsPublished)).toBe(3);
  });

  it('logs and counts an event too large for EventBridge, parks it in the table, and never retries it', async () => {
    const small = event(1);
    const huge = event(2, MAX_BYTES_PER_CALL);

    await commitWithEvents(env.deps, [], [small, huge]);

    expect(sentIds()).toEqual([[small.id]]);
    expect(env.metrics.total(Metric.EventsUndeliverable)).toBe(1);
    expect(logged.filter((entry) => entry.level === 'error')).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ eventId: huge.id, reason: expect.stringMatching(/bytes is over/) }) }),
    ]);
    const [parked] = await outboxItems();
    expect(parked).toMatchObject({ events: [], undeliverable: [huge] });
    expect(parked).not.toHaveProperty('dueAt');

    env.clock.advance(10 * RELAY_GRACE_MS);
    expect(await relayOutbox(env.deps)).toBe(0);
    expect(sentIds()).toHaveLength(1);
    expect(env.metrics.total(Metric.EventsUndeliverable)).toBe(1);
  });

  it('leaves the whole entry for the relay when PutEvents fails outright', async () => {
    const events = [event(1), event(2)];
    eventBridge.on(PutEventsCommand).rejectsOnce(new Error('connect ETIMEDOUT')).callsFake(acceptAll);

    await commitWithEvents(env.deps, [], events);
    expect((await outboxItems()).map((item) => (item.events as DomainEvent[]).map((e) => e.id))).toEqual([events.map((e) => e.id)]);

    env.clock.advance(RELAY_GRACE_MS);
    expect(await relayOutbox(env.deps)).toBe(1);
    expect(sentIds()).toEqual([events.map((e) => e.id), events.map((e) => e.id)]);
    expect(await outboxItems()).toEqual([]);
  });
});
