import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResultV2, Context, ScheduledEvent } from 'aws-lambda';
import { DynamoRepository } from '../src/persistence/dynamo-repository';
import { intEnv, policiesFromEnv, providerHttpFromEnv } from '../src/aws/env';
import { buildDeps } from '../src/runtime/build-deps';
import { RecordedMetrics } from './recorded-metrics';
import { RecordingEventBus } from './recording-event-bus';
import { redriveDeadLetters, sqsNotificationQueue } from '../src/aws/sqs-queue';
import type { Deps, Logger } from '../src/core/kernel/deps';
import type { Product } from '../src/domain/order';
import type { ReconciliationDay } from '../src/domain/reconciliation';
import { businessDateOf } from '../src/domain/bill';
import { latestReconciliations } from '../src/core/reconciliation/reconciliation';
import * as z from 'zod';
import { ManualRun } from '../functions/reconcile/handler';
import { parsePaymentsConfigText, type PaymentsConfig } from '../src/providers/config';
import { createProviders } from '../src/providers/registry';
import { localWiring, type Wiring } from '../src/runtime/wiring';
import { ADMIN_SCOPE } from '../src/http/routes';
import { BACKGROUND_FUNCTIONS } from '../src/runtime/functions';
import { MalformedPathError, matchRoute, toApiGatewayEvent } from './api-gateway';
import { DASHBOARD_HTML, dashboardFigures } from './dashboard';
import { parseBucketSeconds } from './dashboard-series';
import { type DevIssuer, loadOrCreateDevIssuer } from './dev-jwt';
import { authorizerSettings, jwtAuthorizer } from './jwt-authorizer';
import { createTable, dynamoClient, type DynamoEmulator, startDynamoEmulator } from './dynamodb-emulator';
import { startLocalQueues, type LocalQueues } from './queues';
import { loadOrCreateSandboxKeys, type SandboxKeys } from './sandbox/keys';
import { createSandbox } from './sandbox/server';
import type { Sandbox } from './sandbox/types';
import { SANDBOX_REFUND_OUTCOMES, type SandboxRefundOutcome } from './sandbox/types';
import { LOCAL_HOST, localBaseUrl } from './settings';
import { startSqsEventSource, type SqsHandler } from './sqs-event-source';
import { startOutboxPublisher } from './outbox-stream';

export const TABLE_NAME = 'payments';
/** Lambda reads each shard of a DynamoDB stream four times a second, and at once again while records keep coming. */
const STREAM_POLL_MS = 250;

export const DEMO_PRODUCTS: Product[] = [
  { sku: 'TEA-LONGJING-250', name: 'Longjing green tea, 250 g', price: 12_800, stock: 500 },
  { sku: 'CUP-CELADON', name: 'Celadon tea cup', price: 4_550, stock: 200 },
  { sku: 'PEN-BRUSH', name: 'Calligraphy brush pen', price: 990, stock: 1_000 },
];

export interface RuntimeOptions {
  port: number;
  host?: string;
  /** Where `.local` data lives: emulator files, generated keys, the dev issuer secret. */
  dataDir: string;
  /** In-memory emulator: nothing survives a restart. */
  fresh?: boolean;
  /** A provider config document to use as is instead of the generated sandbox one. */
  paymentsConfigPath?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface Runtime {
  baseUrl: string;
  /** Signs tokens this runtime accepts (when it trusts its own dev issuer). */
  devIssuer: DevIssuer;
  deps: Deps;
  bus: RecordingEventBus;
  metrics: RecordedMetrics;
  sandbox: Sandbox;
  queues: LocalQueues;
  configPath: string;
  /** The emulator's endpoint and the client the repository uses (bench: the floor, request counts). */
  dynamo: { endpoint: string; client: DynamoDBClient };
  runSweeper(): Promise<unknown>;
  /** Resolves once every outbox entry written so far has been through the publisher. */
  eventsPublished(): Promise<void>;
  /** Reconciles a day now, as `npm run reconcile` does. */
  runReconciliation(run: ManualRun): Promise<ReconciliationDay>;
  stop(): Promise<void>;
}

type HttpHandler = (event: unknown, context: Context) => Promise<APIGatewayProxyResultV2>;

const lambdaContext = (name: string) =>
  ({ functionName: name, awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => 30_000 }) as unknown as Context;

/**
 * The whole service on one machine: DynamoDB Local with the outbox publisher on its stream, the SQS
 * stand-in with its worker poller, a recording event bus, the sweeper on a timer, the sandbox providers, and an HTTP server that
 * hands API Gateway v2 events to the very handler modules that run in Lambda.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const host = options.host ?? LOCAL_HOST;
  const baseUrl = localBaseUrl(options.port, host);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };

  try {
    // Listen first: a taken port is the most common mistake and should fail before anything starts.
    let ready = false;
    let route: (request: IncomingMessage, response: ServerResponse) => Promise<void> = async () => undefined;
    const server = createServer((request, response) => {
      if (!ready) {
        response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, starting: true }));
        return;
      }
      route(request, response).catch((error) => {
        log(`! unhandled ${request.method} ${request.url}: ${String(error)}`);
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Internal Server Error' }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new Error(`Port ${options.port} is already in use: stop what runs there or set PORT to another port.`) : error),
      );
      server.listen(options.port, host, () => resolve());
    });
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          // A dashboard left open keeps its connection busy polling: close it rather than wait for ever.
          server.closeAllConnections();
        }),
    );
    server.closeIdleConnections?.();

    // A bad PAYMENTS_CONFIG (or SANDBOX_REFUND_OUTCOME) fails here too, before the emulator's JVM is started for nothing.
    const { config, configPath, sandboxKeys } = await providerConfig(options, baseUrl);
    const sandboxRefundOutcome = refundOutcome(env);

    const emulator: DynamoEmulator = await startDynamoEmulator(options.fresh ? {} : { dataDir: path.join(options.dataDir, 'dynamodb') });
    stops.push(() => emulator.stop());
    const client = dynamoClient(emulator.endpoint);
    await createTable(client, TABLE_NAME);
    const repo = new DynamoRepository({ client, tableName: TABLE_NAME });

    const queues = await startLocalQueues({ visibilityTimeoutSeconds: intEnv('LOCAL_VISIBILITY_TIMEOUT_SECONDS', 5, env, [0, 43_200]) });
    stops.push(() => queues.stop());

    const bus = new RecordingEventBus();
    const metrics = new RecordedMetrics();
    const logger = consoleLogger(log, env.LOG_LEVEL === 'debug');
    bus.onPublish((event) =>
      log(`event  ${event.type.padEnd(24)} ${event.detail.paymentId ?? event.detail.orderId}${event.detail.status ? ` (${event.detail.status})` : ''}`),
    );

    const deps = buildDeps(
      // A return page that exists locally; the order id shows in the address bar.
      { ...policiesFromEnv(env), publicBaseUrl: baseUrl, returnUrlTemplate: `${baseUrl}/_local/dashboard?orderId={orderId}` },
      {
        repo,
        queue: sqsNotificationQueue(queues.client, queues.queueUrl),
        events: bus,
        metrics,
        logger,
        providers: createProviders(config, globalThis.fetch, providerHttpFromEnv(env)),
      },
    );
    const wiring = localWiring(async () => deps);

    if ((await repo.listProducts()).length === 0) {
      for (const product of DEMO_PRODUCTS) await repo.commit([{ kind: 'putProduct', product }]);
    }

    const sandbox = createSandbox({
      keys: sandboxKeys,
      publicBaseUrl: baseUrl,
      retryDelaysMs: retryDelays(env),
      refundOutcome: sandboxRefundOutcome,
      log: logger,
    });
    stops.push(() => sandbox.stop());

    const handlers = new Map<string, HttpHandler>();
    const handlerFor = async (fn: string) => {
      let handler = handlers.get(fn);
      if (!handler) {
        const module = (await import(`../functions/${fn}/handler.ts`)) as { makeHandler(wiring: Wiring): HttpHandler };
        handler = module.makeHandler(wiring);
        handlers.set(fn, handler);
      }
      return handler;
    };

    // Domain events leave through the table's stream, as in AWS (docs/ARCHITECTURE.md#transactional-outbox).
    const outboxPublisher = await startOutboxPublisher({
      dynamo: client,
      endpoint: emulator.endpoint,
      tableName: TABLE_NAME,
      publisher: { wiring },
      checkpointFile: options.fresh ? undefined : path.join(options.dataDir, 'outbox-stream-checkpoint.json'),
      pollMs: STREAM_POLL_MS,
      onError: (error) => log(`! outbox publisher: ${String(error)}`),
    });
    stops.push(() => outboxPublisher.stop());

    const worker = (await import(`../functions/${BACKGROUND_FUNCTIONS.worker.fn}/handler.ts`)) as { makeHandler(wiring: Wiring): SqsHandler };
    const eventSource = startSqsEventSource({
      client: queues.client,
      queueUrl: queues.queueUrl,
      handler: worker.makeHandler(wiring),
      onError: (error) => log(`! worker poll: ${String(error)}`),
    });
    stops.push(() => eventSource.stop());

    const sweeperModule = (await import(`../functions/${BACKGROUND_FUNCTIONS.sweeper.fn}/handler.ts`)) as {
      makeHandler(wiring: Wiring): (event: ScheduledEvent, context: Context) => Promise<unknown>;
    };
    const sweeperHandler = sweeperModule.makeHandler(wiring);
    let sweeping: Promise<unknown> | undefined;
    const runSweeper = () => {
      // Like a schedule with reserved concurrency 1: a run still going is not started again.
      sweeping ??= sweeperHandler(scheduledEvent(), lambdaContext(BACKGROUND_FUNCTIONS.sweeper.fn)).finally(() => (sweeping = undefined));
      return sweeping;
    };
    const interval = setInterval(
      () => void runSweeper().catch((error) => log(`! sweeper: ${String(error)}`)),
      intEnv('SWEEP_INTERVAL_SECONDS', 60, env, [1, 86_400]) * 1000,
    );
    stops.push(async () => {
      clearInterval(interval);
      await sweeping?.catch(() => undefined);
    });

    const reconcilerModule = (await import(`../functions/${BACKGROUND_FUNCTIONS.reconciler.fn}/handler.ts`)) as {
      makeHandler(wiring: Wiring): (event: ManualRun, context: Context) => Promise<ReconciliationDay>;
    };
    const reconcilerHandler = reconcilerModule.makeHandler(wiring);
    const runReconciliation = (run: ManualRun) => reconcilerHandler(run, lambdaContext(BACKGROUND_FUNCTIONS.reconciler.fn));

    const devIssuer = await loadOrCreateDevIssuer(options.dataDir, baseUrl);
    const authorize = jwtAuthorizer(authorizerSettings(env, devIssuer));
    route = async (request, response) => {
      const url = new URL(request.url ?? '/', baseUrl);
      const body = await readBody(request);
      const send = (statusCode: number, payload: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
        response.writeHead(statusCode, headers).end(payload);
      };
      // The gateway's own answers (no function runs) have this shape, in AWS and here.
      const gatewayAnswer = (statusCode: number, message: string) => send(statusCode, JSON.stringify({ message }));

      if (url.pathname === '/health') return send(200, JSON.stringify({ ok: true }));
      if (url.pathname === '/.well-known/openid-configuration') return send(200, JSON.stringify(devIssuer.openidConfiguration()));
      if (url.pathname === '/.well-known/jwks.json') return send(200, JSON.stringify(devIssuer.jwks));
      if (url.pathname === '/_local/dashboard') return send(200, DASHBOARD_HTML, { 'content-type': 'text/html; charset=utf-8' });
      if (url.pathname === '/_local/dashboard.json') {
        const bucket = parseBucketSeconds(url.searchParams.get('bucket'));
        if (!bucket.ok) return send(400, JSON.stringify({ error: { code: 'VALIDATION_FAILED', message: bucket.message } }));
        const figures = await dashboardFigures({
          metrics,
          bus,
          repo,
          deadLetterDepth: queues.deadLetterDepth,
          bucketSeconds: bucket.bucketSeconds,
          latestReconciliations: () => latestReconciliations(deps, businessDateOf(deps.clock.now())),
        });
        return send(200, JSON.stringify(figures));
      }
      if (url.pathname === '/_local/events') return send(200, JSON.stringify({ events: bus.published }));
      if (url.pathname === '/_local/reconcile' && request.method === 'POST') {
        // What the daily schedule does in AWS, for one day on demand (npm run reconcile).
        const run = ManualRun.safeParse(parseJson(body));
        if (!run.success) return send(400, JSON.stringify({ error: { code: 'INVALID_REQUEST', message: z.prettifyError(run.error) } }));
        return send(200, JSON.stringify(await runReconciliation(run.data)));
      }
      if (url.pathname === '/_local/dlq/replay' && request.method === 'POST') {
        return send(200, JSON.stringify({ moved: await redriveDeadLetters(queues.client, { queueUrl: queues.queueUrl, dlqUrl: queues.dlqUrl }) }));
      }
      if (url.pathname.startsWith('/sandbox')) {
        const answer = await sandbox.handle({
          method: request.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: lowerCase(request.headers),
          body: body.toString('utf8'),
        });
        if (answer) return send(answer.statusCode, answer.bytes ?? answer.body, answer.headers);
      }

      let match;
      try {
        match = matchRoute(request.method ?? 'GET', url.pathname);
      } catch (error) {
        if (error instanceof MalformedPathError) return gatewayAnswer(400, 'Bad Request');
        throw error;
      }
      if (!match) return gatewayAnswer(404, 'Not Found');
      let identity: { claims?: Record<string, unknown>; scopes?: string[] } = {};
      if (match.route.auth !== 'public') {
        // The JWT authorizer answers before any function runs, exactly like this.
        const decision = await authorize(request.headers.authorization, match.route.auth === 'admin' ? [ADMIN_SCOPE] : []);
        if (!decision.ok) return gatewayAnswer(decision.statusCode, decision.message);
        identity = decision;
      }
      const event = toApiGatewayEvent({
        method: request.method ?? 'GET',
        url,
        headers: request.headers,
        body,
        route: match.route,
        pathParameters: match.pathParameters,
        ...identity,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      });
      const result = (await (
        await handlerFor(match.route.fn)
      )(event, lambdaContext(match.route.fn))) as { statusCode?: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean };
      const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? '');
      response.writeHead(result.statusCode ?? 200, result.headers ?? {}).end(payload);
    };
    ready = true;

    return {
      baseUrl,
      devIssuer,
      deps,
      bus,
      metrics,
      sandbox,
      queues,
      configPath,
      dynamo: { endpoint: emulator.endpoint, client },
      runSweeper,
      eventsPublished: () => outboxPublisher.idle(),
      runReconciliation,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The generated sandbox config, or the operator's own document (then the sandbox serves only what it has keys for). */
async function providerConfig(options: RuntimeOptions, baseUrl: string): Promise<{ config: PaymentsConfig; configPath: string; sandboxKeys: SandboxKeys }> {
  const generated = await loadOrCreateSandboxKeys(options.dataDir, baseUrl);
  if (!options.paymentsConfigPath) return { config: generated.config, configPath: generated.configPath, sandboxKeys: generated.sandboxKeys };
  const config = parsePaymentsConfigText(await readFile(options.paymentsConfigPath, 'utf8'), `PAYMENTS_CONFIG ${options.paymentsConfigPath}`);
  return { config, configPath: options.paymentsConfigPath, sandboxKeys: {} };
}

function retryDelays(env: NodeJS.ProcessEnv): number[] {
  const raw = env.SANDBOX_RETRY_DELAYS_MS;
  return raw
    ? raw
        .split(',')
        .map((value) => Number(value.trim()))
        .filter((value) => Number.isFinite(value) && value >= 0)
    : [1_000, 2_000, 5_000, 15_000, 30_000, 60_000];
}

/** SANDBOX_REFUND_OUTCOME: what the sandbox providers do with a refund. */
function refundOutcome(env: NodeJS.ProcessEnv): SandboxRefundOutcome {
  const raw = env.SANDBOX_REFUND_OUTCOME || 'succeed';
  if (!(SANDBOX_REFUND_OUTCOMES as readonly string[]).includes(raw)) {
    throw new Error(`SANDBOX_REFUND_OUTCOME must be one of ${SANDBOX_REFUND_OUTCOMES.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as SandboxRefundOutcome;
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

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function lowerCase(headers: IncomingMessage['headers']): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(',') : value]));
}

function consoleLogger(log: (line: string) => void, debug: boolean): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    log(`${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
  return { debug: debug ? line('debug') : () => undefined, info: line('info '), warn: line('warn '), error: line('error') };
}
