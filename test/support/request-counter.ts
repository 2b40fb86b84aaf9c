/** Any AWS SDK v3 client: only its middleware stack is used. */
interface SdkClient {
  middlewareStack: { add: (...args: never[]) => unknown };
}

/**
 * Counts the requests an AWS SDK client sends, per service and operation, as they go on the wire:
 * the middleware sits in the deserialize step, inside the SDK's retry loop, so a retried request
 * counts each time it is sent. Attach it to the real clients (DynamoDB Local, the SQS stand-in).
 */
export class RequestCounter {
  private readonly counts = new Map<string, number>();

  attach(client: SdkClient, service: string): this {
    const add = client.middlewareStack.add as (middleware: unknown, options: unknown) => void;
    add.call(
      client.middlewareStack,
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const operation = `${service}.${(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
        this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
        return next(args);
      },
      { step: 'deserialize', name: `requestCounter-${service}`, override: true },
    );
    return this;
  }

  /** Counts what `run` sends, from zero: operation → requests, only operations that were sent. */
  async during(run: () => Promise<unknown>): Promise<Record<string, number>> {
    this.counts.clear();
    await run();
    return this.snapshot();
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}
