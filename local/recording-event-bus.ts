import type { DomainEvent } from '../src/domain/events';
import type { EventPublisher, PublishFailure } from '../src/core/outbox/ports';

/** The local stand-in for the EventBridge bus: keeps what was published, newest last. */
export class RecordingEventBus implements EventPublisher {
  readonly published: DomainEvent[] = [];
  private readonly listeners: Array<(event: DomainEvent) => void> = [];

  constructor(private readonly maxEvents = 10_000) {}

  async publish(events: readonly DomainEvent[]): Promise<{ failed: PublishFailure[] }> {
    for (const event of events) {
      this.published.push(event);
      for (const listener of this.listeners) listener(event);
    }
    if (this.published.length > this.maxEvents) this.published.splice(0, this.published.length - this.maxEvents);
    return { failed: [] };
  }

  onPublish(listener: (event: DomainEvent) => void): void {
    this.listeners.push(listener);
  }

  ofType(type: DomainEvent['type']): DomainEvent[] {
    return this.published.filter((event) => event.type === type);
  }
}
