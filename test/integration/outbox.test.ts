import 'aws-sdk-client-mock-vitest/extend';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { OUTBOX_RETENTION_DAYS } from '../../src/persistence/outbox';
import { eventBridgePublisher, MAX_BYTES_PER_CALL } from '../../src/aws/eventbridge-publisher';
import type { Logger } from '../../src/core/kernel/deps';
import { Metric } from '../../src/core/kernel/metric-names';
import { commitWithEvents, OUTBOX_PARK_AFTER_HOURS } from '../../src/core/outbox/outbox';
import type { DomainEvent } from '../../src/domain/events';
import { newPayment, transitionWrite } from '../support/domain-fixtures';
import { createTestEnv, type TestEnv } from '../support/harness';

/**
 * The transactional outbox: entries in DynamoDB Local (on the items their change wrote, or of their
 * own), published by the outbox publisher function reading the table's real stream, through the
 * EventBridge adapter (PutEvents mocked: there is no local EventBridge).
 */

const eventBridge = mockClient(EventBridgeClient);

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
  eventBridge
    .commandCalls(PutEventsCommand)
    .map((call) => (call.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.Detail!).eventId as string));
const outboxItems = async () => (await env.scan()).filter((item) => item.kind === 'outbox');
const parkedEntries = async () => (await outboxItems()).flatMap((item) => (item.parked ? [item] : []));

/** PutEvents taking every entry. */
const acceptAll = (input: { Entries: unknown[] }) => ({
  FailedEntryCount: 0,
  Entries: input.Entries.map(() => ({ EventId: 'eb' })),
});

beforeEach(async () => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).callsFake(acceptAll);
  logged = [];
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void logged.push({ level, message, fields });
  const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  env = await createTestEnv({ logger });
  env.deps.events = eventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), 'payments');
});

describe("the outbox published from the table's stream over EventBridge PutEvents", () => {
  it("publishes nothing on the writer's path: the committed entry is the only trace until the publisher runs", async () => {
    await commitWithEvents(env.deps, [], [event(1)]);

    expect(sentIds()).toEqual([]);
    expect(await outboxItems()).toMatchObject([{ outbox: { events: [event(1)] } }]);

    await env.publishEvents();
    expect(sentIds()).toEqual([[event(1).id]]);
  });

  it('retries from the first entry PutEvents refused part of, publishing it and those after it again under the same ids', async () => {
    const [first, second, third] = [event(1), event(2), event(3)];
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }, { EventId: 'c' }],
      })
      .callsFake(acceptAll);

    for (const one of [first, second, third]) await commitWithEvents(env.deps, [], [one!]);
    await env.publishEvents(); // refused in part: the event source is told to retry from the second entry
    expect(env.metrics.total(Metric.OutboxPublishFailed)).toBe(1);
    await env.publishEvents(); // the retry, as the event source makes it

    expect(sentIds()).toEqual([
      [first!.id, second!.id, third!.id],
      [second!.id, third!.id],
    ]);
    expect(env.metrics.total(Metric.EventsPublished)).toBe(4);
    await env.publishEvents();
    expect(sentIds()).toHaveLength(2); // nothing is published a third time
  });

  it('logs and counts an event too large for EventBridge, parks it in its entry (kept from expiring), and never retries it', async () => {
    const small = event(1);
    const huge = event(2, MAX_BYTES_PER_CALL);

    await commitWithEvents(env.deps, [], [small, huge]);
    await env.publishEvents();

    expect(sentIds()).toEqual([[small.id]]);
    expect(env.metrics.total(Metric.EventsUndeliverable)).toBe(1);
    expect(logged.filter((entry) => entry.level === 'error')).toEqual([
      expect.objectContaining({
        fields: expect.objectContaining({ eventId: huge.id, reason: expect.stringMatching(/bytes is over/) }),
      }),
    ]);
    const [parked] = await parkedEntries();
    expect(parked).toMatchObject({ parked: { events: [small], undeliverable: [huge] } });
    expect(parked).not.toHaveProperty('expiresAtEpoch');
    expect(parked).not.toHaveProperty('outbox'); // the stream's filter passes over it

    await env.publishEvents();
    expect(sentIds()).toHaveLength(1);
    expect(env.metrics.total(Metric.EventsUndeliverable)).toBe(1);
  });

  it('retries the whole batch when PutEvents fails outright, and loses nothing', async () => {
    const events = [event(1), event(2)];
    eventBridge.on(PutEventsCommand).rejectsOnce(new Error('connect ETIMEDOUT')).callsFake(acceptAll);

    await commitWithEvents(env.deps, [], events);
    await env.publishEvents();
    await env.publishEvents();

    expect(sentIds()).toEqual([events.map((e) => e.id), events.map((e) => e.id)]);
  });

  it("lays an entry on the smallest item its change rewrites whole; that item's later writes, put or update, publish nothing again", async () => {
    const now = env.clock.now();
    const payment = newPayment({ paymentId: 'pay_rides', orderId: 'ord_rides', now });
    const big = newPayment({ paymentId: 'pay_big', orderId: 'ord_rides', now, customerId: 'c'.repeat(900) });
    await commitWithEvents(
      env.deps,
      [
        { kind: 'createPayment', payment: big },
        { kind: 'createPayment', payment },
      ],
      [event(1)],
    );

    const items = await env.scan();
    expect(items.filter((item) => item.outbox).map((item) => item.paymentId)).toEqual(['pay_rides']);
    expect(await outboxItems()).toEqual([]); // no item of its own
    expect(await env.repo.getPayment('pay_rides')).toEqual(payment); // the entry is storage, not the payment
    await env.publishEvents();
    expect(sentIds()).toEqual([[event(1).id]]);

    // A put of the payment without events, then an update of it: the stream brings both, neither with an entry.
    const started = transitionWrite(payment, 'processing', now);
    await env.repo.commit([started]);
    await env.repo.commit([
      { kind: 'claimRefundCall', paymentId: 'pay_rides', now: now.toISOString(), spacingSeconds: 1 },
    ]);
    await env.publishEvents();
    expect(sentIds()).toHaveLength(1);
    expect((await env.scan()).filter((item) => item.outbox)).toEqual([]);
  });

  it(`parks an entry the bus still refuses ${OUTBOX_PARK_AFTER_HOURS} hours after its commit, before the stream forgets it`, async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('EventBridge is down'));
    await commitWithEvents(env.deps, [], [event(1)]);
    await env.publishEvents();
    expect(await parkedEntries()).toEqual([]); // retried, not parked, while young

    env.clock.advance((OUTBOX_PARK_AFTER_HOURS + 1) * 3_600_000);
    await env.publishEvents();

    expect(await parkedEntries()).toMatchObject([{ parked: { events: [], undeliverable: [event(1)] } }]);
    expect(env.metrics.total(Metric.EventsUndeliverable)).toBe(1);
    const calls = sentIds().length;
    await env.publishEvents();
    expect(sentIds()).toHaveLength(calls); // not retried again
  });

  it('keeps an entry a week past its writing, then lets TTL remove it for free', async () => {
    await commitWithEvents(env.deps, [], [event(1)]);

    const [entry] = await outboxItems(); // a change that rewrote no order, payment or refund: an item of its own
    expect(entry!.expiresAtEpoch).toBe(
      Date.parse(env.clock.now().toISOString()) / 1000 + OUTBOX_RETENTION_DAYS * 86_400,
    );
    expect(OUTBOX_RETENTION_DAYS).toBeGreaterThan(1); // past the stream's 24 hours
  });
});
