import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DomainEvent } from '../domain/events';
import type { EventPublisher } from '../core/ports';

export const EVENT_SOURCE = 'payments';
const MAX_ENTRIES_PER_CALL = 10;

/** Domain events to an EventBridge bus; a partly failed batch throws so the outbox keeps it. */
export function eventBridgePublisher(client: EventBridgeClient, busName: string): EventPublisher {
  return {
    async publish(events: readonly DomainEvent[]) {
      for (let start = 0; start < events.length; start += MAX_ENTRIES_PER_CALL) {
        const chunk = events.slice(start, start + MAX_ENTRIES_PER_CALL);
        const result = await client.send(
          new PutEventsCommand({
            Entries: chunk.map((event) => ({
              EventBusName: busName,
              Source: EVENT_SOURCE,
              DetailType: event.type,
              Time: new Date(event.occurredAt),
              Detail: JSON.stringify({ eventId: event.id, ...event.detail }),
            })),
          }),
        );
        if (result.FailedEntryCount) throw new Error(`EventBridge refused ${result.FailedEntryCount} of ${chunk.length} events`);
      }
    },
  };
}
