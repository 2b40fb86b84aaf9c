import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DomainEvent } from '../domain/events';
import type { EventPublisher, PublishFailure } from '../core/outbox/ports';
import { AWS_CLIENT_LIMITS } from './aws-client-limits';
import { requiredEnv } from './env';

export const EVENT_SOURCE = 'payments';
/** PutEvents limits: 10 entries per call, and 256 KB for the entries of one call together. */
export const MAX_ENTRIES_PER_CALL = 10;
export const MAX_BYTES_PER_CALL = 256 * 1024;
/** What EventBridge counts for a Time field, whatever its value. */
const TIME_BYTES = 14;

/**
 * An entry's size as EventBridge measures it against the 256 KB limit: Time counts 14 bytes,
 * Source, DetailType, Detail and each Resources entry their UTF-8 bytes.
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (text: string | undefined) => (text ? Buffer.byteLength(text, 'utf8') : 0);
  return (
    (entry.Time ? TIME_BYTES : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

interface Pending {
  event: DomainEvent;
  entry: PutEventsRequestEntry;
  size: number;
}

/** Consecutive calls of at most 10 entries and 256 KB each, in the events' order. */
function batches(pending: readonly Pending[]): Pending[][] {
  const calls: Pending[][] = [];
  let current: Pending[] = [];
  let bytes = 0;
  for (const item of pending) {
    if (current.length === MAX_ENTRIES_PER_CALL || bytes + item.size > MAX_BYTES_PER_CALL) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

/**
 * Domain events to an EventBridge bus. Answers exactly which events were not published: the
 * entries PutEvents reported as failed (retryable), the calls that failed as a whole (retryable)
 * and events larger than EventBridge accepts (not retryable). Every event carries its id in the
 * detail, so a consumer recognises a re-published one.
 */
/** A function's `events` capability (wiring.ts): the bus EVENT_BUS_NAME. */
export function eventBus(env: NodeJS.ProcessEnv): EventPublisher {
  return eventBridgePublisher(new EventBridgeClient(AWS_CLIENT_LIMITS), requiredEnv('EVENT_BUS_NAME', env));
}

export function eventBridgePublisher(client: EventBridgeClient, busName: string): EventPublisher {
  return {
    async publish(events: readonly DomainEvent[]) {
      const failed: PublishFailure[] = [];
      const pending: Pending[] = [];
      for (const event of events) {
        const entry: PutEventsRequestEntry = {
          EventBusName: busName,
          Source: EVENT_SOURCE,
          DetailType: event.type,
          Time: new Date(event.occurredAt),
          Detail: JSON.stringify({ eventId: event.id, ...event.detail }),
        };
        const size = entrySize(entry);
        if (size > MAX_BYTES_PER_CALL)
          failed.push({
            event,
            reason: `entry of ${size} bytes is over EventBridge's ${MAX_BYTES_PER_CALL}-byte limit`,
            retryable: false,
          });
        else pending.push({ event, entry, size });
      }
      for (const call of batches(pending)) failed.push(...(await putEvents(client, call)));
      return { failed };
    },
  };
}

async function putEvents(client: EventBridgeClient, call: readonly Pending[]): Promise<PublishFailure[]> {
  try {
    const result = await client.send(new PutEventsCommand({ Entries: call.map(({ entry }) => entry) }));
    if (!result.FailedEntryCount) return [];
    // Result entries answer the request entries one for one, in order; one with an ErrorCode failed.
    const answers = result.Entries ?? [];
    return call.flatMap(({ event }, index) => {
      const answer = answers[index];
      if (answer && !answer.ErrorCode) return [];
      return [
        {
          event,
          reason: answer ? `${answer.ErrorCode}: ${answer.ErrorMessage ?? ''}` : 'no result entry for this event',
          retryable: true,
        },
      ];
    });
  } catch (error) {
    return call.map(({ event }) => ({
      event,
      reason: `PutEvents failed: ${(error as Error).message ?? String(error)}`,
      retryable: true,
    }));
  }
}
