import type { APIGatewayProxyResultV2, Context, ScheduledEvent } from 'aws-lambda';
import type { HealRetry, ManualRun } from '../functions/reconcile/handler';
import type { ReconciliationDay } from '../src/domain/reconciliation';
import { BACKGROUND_FUNCTIONS } from '../src/runtime/functions';
import type { Wiring } from '../src/runtime/wiring';
import type { SqsHandler } from './sqs-event-source';

type HttpHandler = (event: unknown, context: Context) => Promise<APIGatewayProxyResultV2>;
type Handler<Event, Result> = (event: Event, context: Context) => Promise<Result>;

export const lambdaContext = (name: string) =>
  ({
    functionName: name,
    awsRequestId: crypto.randomUUID(),
    getRemainingTimeInMillis: () => 30_000,
  }) as unknown as Context;

/** A function's handler module, loaded as Lambda loads it and built with this runtime's wiring. */
async function load<Event, Result>(fn: string, wiring: Wiring): Promise<Handler<Event, Result>> {
  const module = (await import(`../functions/${fn}/handler.ts`)) as {
    makeHandler(wiring: Wiring): Handler<Event, Result>;
  };
  return module.makeHandler(wiring);
}

/** The functions of the service on one machine: the very handler modules that run in Lambda. */
export function localLambdas(wiring: Wiring) {
  const http = new Map<string, HttpHandler>();
  return {
    /** An API route's function, loaded on its first request. */
    invokeHttp: async (fn: string, event: unknown) => {
      let handler = http.get(fn);
      if (!handler) http.set(fn, (handler = await load<unknown, APIGatewayProxyResultV2>(fn, wiring)));
      return handler(event, lambdaContext(fn));
    },
    worker: () => load(BACKGROUND_FUNCTIONS.worker.fn, wiring) as Promise<SqsHandler>,
    sweeper: () => load<ScheduledEvent, unknown>(BACKGROUND_FUNCTIONS.sweeper.fn, wiring),
    expiryWorker: () => load(BACKGROUND_FUNCTIONS.expiryWorker.fn, wiring) as Promise<SqsHandler>,
    webhookDeliverer: () => load(BACKGROUND_FUNCTIONS.deliverer.fn, wiring) as Promise<SqsHandler>,
    reconciler: async () => {
      const handler = await load<ManualRun, ReconciliationDay>(BACKGROUND_FUNCTIONS.reconciler.fn, wiring);
      return (run: ManualRun) => handler(run, lambdaContext(BACKGROUND_FUNCTIONS.reconciler.fn));
    },
    /** The reconciler's hourly retry of failed heals (its own schedule in AWS). */
    healRetrier: async () => {
      const handler = await load<HealRetry, unknown>(BACKGROUND_FUNCTIONS.reconciler.fn, wiring);
      return () => handler({ retryHeals: true }, lambdaContext(BACKGROUND_FUNCTIONS.reconciler.fn));
    },
  };
}

/** The sweeper every `intervalMs`, like its schedule with reserved concurrency 1: a run still going is not started again. */
export function startSweeperSchedule(options: {
  handler: Handler<ScheduledEvent, unknown>;
  intervalMs: number;
  log: (line: string) => void;
}) {
  let sweeping: Promise<unknown> | undefined;
  const runSweeper = () => {
    sweeping ??= options
      .handler(scheduledEvent(), lambdaContext(BACKGROUND_FUNCTIONS.sweeper.fn))
      .finally(() => (sweeping = undefined));
    return sweeping;
  };
  const interval = setInterval(
    () => void runSweeper().catch((error) => options.log(`! sweeper: ${String(error)}`)),
    options.intervalMs,
  );
  return {
    runSweeper,
    async stop() {
      clearInterval(interval);
      await sweeping?.catch(() => undefined);
    },
  };
}

function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'local',
    resources: ['arn:aws:events:local:000000000000:rule/payments-sweeper'],
    detail: {},
  };
}
