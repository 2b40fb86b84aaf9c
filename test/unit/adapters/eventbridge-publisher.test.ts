import 'aws-sdk-client-mock-vitest/extend';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EVENT_SOURCE,
  entrySize,
  eventBridgePublisher,
  MAX_BYTES_PER_CALL,
} from '../../../src/aws/eventbridge-publisher';
import type { DomainEvent } from '../../../src/domain/events';

const BUS = 'payments-bus';
const eventBridge = mockClient(EventBridgeClient);
const publisher = eventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), BUS);

/** An OrderCreated event whose detail carries `padding` characters, to reach a given size. */
const orderCreated = (n: number, padding = 0): DomainEvent => ({
  id: `ord_${n}:OrderCreated:1`,
  type: 'OrderCreated',
  occurredAt: '2026-11-25T04:00:00.000Z',
  detail: { orderId: `ord_${n}`, customerId: 'cust_alice', note: 'x'.repeat(padding) },
});

/** The events each PutEvents call carried, by id, call by call. */
const sentIds = () =>
  eventBridge
    .commandCalls(PutEventsCommand)
    .map((call) => (call.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.Detail!).eventId as string));

const sentEntries = () => eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);

/** The padding that makes an OrderCreated entry exactly `bytes` big, as EventBridge measures it. */
function paddingFor(bytes: number): number {
  const [entry] = entriesOf(orderCreated(0));
  return bytes - entrySize(entry!);
}

function entriesOf(...events: DomainEvent[]): PutEventsRequestEntry[] {
  return events.map((event) => ({
    Source: EVENT_SOURCE,
    DetailType: event.type,
    Time: new Date(event.occurredAt),
    Detail: JSON.stringify({ eventId: event.id, ...event.detail }),
  }));
}

beforeEach(() => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
    FailedEntryCount: 0,
    Entries: input.Entries.map((_, i) => ({ EventId: `eb-${i}` })),
  }));
});

describe('eventBridgePublisher (src/aws/eventbridge-publisher.ts)', () => {
  it('sends each event to the bus with its type, time and id in the detail', async () => {
    const event = orderCreated(1);

    await expect(publisher.publish([event])).resolves.toEqual({ failed: [] });

    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: BUS,
          Source: 'payments',
          DetailType: 'OrderCreated',
          Time: new Date('2026-11-25T04:00:00.000Z'),
          Detail: JSON.stringify({ eventId: event.id, ...event.detail }),
        },
      ],
    });
  });

  it('sends at most 10 entries per call, keeping the events in order', async () => {
    const events = Array.from({ length: 23 }, (_, n) => orderCreated(n));

    await expect(publisher.publish(events)).resolves.toEqual({ failed: [] });

    expect(sentIds().map((ids) => ids.length)).toEqual([10, 10, 3]);
    expect(sentIds().flat()).toEqual(events.map((event) => event.id));
  });

  it('keeps each call within 256 KB of entries, measured as EventBridge does', async () => {
    // Five ~100 KB events: two fit in a call, a third would not.
    const events = Array.from({ length: 5 }, (_, n) => orderCreated(n, 100 * 1024));

    await publisher.publish(events);

    expect(sentIds().map((ids) => ids.length)).toEqual([2, 2, 1]);
    for (const entries of sentEntries())
      expect(entries.reduce((sum, entry) => sum + entrySize(entry), 0)).toBeLessThanOrEqual(MAX_BYTES_PER_CALL);
  });

  it('measures an entry as EventBridge does: Time 14 bytes, then the UTF-8 bytes of Source, DetailType, Detail and Resources', () => {
    const entry: PutEventsRequestEntry = {
      Time: new Date(),
      Source: 'payments',
      DetailType: 'OrderPaid',
      Detail: '{"tea":"龙井"}',
      Resources: ['arn:aws:x', 'é'],
    };

    expect(entrySize(entry)).toBe(14 + 8 + 9 + 16 + 9 + 2);
    expect(entrySize({ Source: 'payments', DetailType: 'OrderPaid' })).toBe(17);
  });

  it('sends an event of exactly 256 KB alone, and refuses one a byte larger without sending it', async () => {
    const atLimit = orderCreated(1, paddingFor(MAX_BYTES_PER_CALL));
    const overLimit = orderCreated(2, paddingFor(MAX_BYTES_PER_CALL + 1));
    const small = orderCreated(3);

    const { failed } = await publisher.publish([atLimit, overLimit, small]);

    expect(sentIds()).toEqual([[atLimit.id], [small.id]]);
    expect(failed).toEqual([
      { event: overLimit, retryable: false, reason: expect.stringContaining(`${MAX_BYTES_PER_CALL + 1} bytes`) },
    ]);
  });

  it('answers exactly the entries EventBridge reported as failed, as retryable', async () => {
    const events = [orderCreated(1), orderCreated(2), orderCreated(3)];
    eventBridge.on(PutEventsCommand).resolvesOnce({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'eb-1' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }, { EventId: 'eb-3' }],
    });

    const { failed } = await publisher.publish(events);

    expect(failed).toEqual([{ event: events[1], reason: 'InternalFailure: try again', retryable: true }]);
  });

  it('answers every event of a call that failed as a whole, and only those', async () => {
    const events = Array.from({ length: 12 }, (_, n) => orderCreated(n));
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 0, Entries: Array.from({ length: 10 }, () => ({ EventId: 'ok' })) })
      .rejectsOnce(new Error('ThrottlingException: rate exceeded'));

    const { failed } = await publisher.publish(events);

    expect(failed.map((failure) => failure.event.id)).toEqual([events[10]!.id, events[11]!.id]);
    expect(failed.every((failure) => failure.retryable && failure.reason.includes('rate exceeded'))).toBe(true);
  });
});
