import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ManualRun } from '../functions/reconcile/handler';
import { intEnv, policiesFromEnv, providerHttpFromEnv } from '../src/aws/env';
import type { Deps, Logger } from '../src/core/kernel/deps';
import type { Product } from '../src/domain/order';
import type { ReconciliationDay } from '../src/domain/reconciliation';
import { DynamoRepository } from '../src/persistence/dynamo-repository';
import { parsePaymentsConfigText, type PaymentsConfig } from '../src/providers/config';
import { createProviders } from '../src/providers/registry';
import { buildDeps } from '../src/runtime/build-deps';
import { localWiring } from '../src/runtime/wiring';
import { apiGateway } from './api-gateway';
import { type DevIssuer, loadOrCreateDevIssuer } from './dev-jwt';
import { createTable, dynamoClient, type DynamoEmulator, startDynamoEmulator } from './dynamodb-emulator';
import { startGateway } from './gateway';
import { authorizerSettings, jwtAuthorizer } from './jwt-authorizer';
import { localLambdas, startSweeperSchedule } from './lambdas';
import { localRoutes } from './local-routes';
import { startOutboxPublisher } from './outbox-stream';
import { localQueuePorts, startLocalQueues, type LocalQueues } from './queues';
import { RecordedMetrics } from './recorded-metrics';
import { RecordingEventBus } from './recording-event-bus';
import { loadOrCreateSandboxKeys, type SandboxKeys } from './sandbox/keys';
import { createSandbox } from './sandbox/server';
import { SANDBOX_REFUND_OUTCOMES, type Sandbox, type SandboxRefundOutcome } from './sandbox/types';
import { LOCAL_HOST, localBaseUrl } from './settings';
import { startSqsEventSource } from './sqs-event-source';
import { type LocalWebhooks, registerLocalWebhook, startLocalWebhooks } from './webhooks/runtime';

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
  /**
   * An emulator already running (the e2e suite's one JVM): the runtime takes a fresh table of its own
   * in it instead of starting DynamoDB Local. Implies `fresh`.
   */
  sharedDynamo?: { endpoint: string };
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
  /** The webhook queue, its deliverer and the local key (local/webhooks/runtime.ts). */
  webhooks: LocalWebhooks;
  configPath: string;
  /** The emulator's endpoint and the client the repository uses (bench: the floor, request counts). */
  dynamo: { endpoint: string; client: DynamoDBClient; tableName: string };
  runSweeper(): Promise<unknown>;
  /** Resolves once every outbox entry written so far has been through the publisher. */
  eventsPublished(): Promise<void>;
  /** Reconciles a day now, as `npm run reconcile` does. */
  runReconciliation(run: ManualRun): Promise<ReconciliationDay>;
  /** The hourly retry of failed heals, now. */
  retryHeals(): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * The whole service on one machine, as a few services: the gateway (listening first), the
 * emulators (DynamoDB Local with the outbox publisher on its stream; the SQS stand-in with its
 * worker poller), the sandbox providers, the sweeper on a timer, and the gateway's routes: its own
 * (/_local, /sandbox) and the API, handed as API Gateway v2 events to the very handler modules
 * that run in Lambda.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const baseUrl = localBaseUrl(options.port, options.host ?? LOCAL_HOST);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const gateway = await startGateway({ port: options.port, host: options.host ?? LOCAL_HOST, baseUrl, log });
    stops.push(() => gateway.stop());
    // A bad PAYMENTS_CONFIG (or SANDBOX_REFUND_OUTCOME) fails here too, before the emulator's JVM is started for nothing.
    const { config, configPath, sandboxKeys } = await providerConfig(options, baseUrl);
    const sandboxOptions = sandboxSettings(env);
    const services = await startServices({ options, env, log, baseUrl, config, stops });
    const { deps, wiring, logger } = services;
    const sandbox = createSandbox({ keys: sandboxKeys, publicBaseUrl: baseUrl, ...sandboxOptions, log: logger });
    stops.push(() => sandbox.stop());
    const lambdas = localLambdas(wiring);
    const background = await startBackground({ options, env, log, services, lambdas, stops });
    const runReconciliation = await lambdas.reconciler();
    const retryHeals = await lambdas.healRetrier();
    // Hourly as in AWS (LOCAL_HEAL_RETRY_SECONDS to change it): days whose heals failed are run again.
    const healTimer = setInterval(
      () => void retryHeals().catch((error) => log(`! heal retry: ${String(error)}`)),
      Number(env.LOCAL_HEAL_RETRY_SECONDS || 3600) * 1000,
    );
    stops.push(async () => clearInterval(healTimer));
    const devIssuer = await loadOrCreateDevIssuer(options.dataDir, baseUrl);
    gateway.serve(
      localRoutes({
        devIssuer,
        deps,
        repo: services.repo,
        metrics: services.metrics,
        bus: services.bus,
        queues: services.queues,
        sandbox,
        runReconciliation,
      }),
      apiGateway({ authorize: jwtAuthorizer(authorizerSettings(env, devIssuer)), invoke: lambdas.invokeHttp }),
    );
    await registerLocalWebhook(deps, env.LOCAL_WEBHOOK_URL, log);
    const { bus, metrics, queues, dynamo, webhooks } = services;
    return {
      ...{ baseUrl, devIssuer, deps, bus, metrics, sandbox, queues, webhooks, configPath, dynamo },
      ...background,
      runReconciliation,
      retryHeals,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The sandbox providers' behaviour from the environment (docs/PROVIDERS.md, sandbox controls). */
function sandboxSettings(env: NodeJS.ProcessEnv) {
  return {
    retryDelaysMs: retryDelays(env),
    refundOutcome: refundOutcome(env),
    jsapiDirectories: listOf(env.SANDBOX_WECHAT_JSAPI_DIRECTORIES),
    h5Domains: listOf(env.SANDBOX_WECHAT_H5_DOMAINS),
    callsPerSecond: intEnv('SANDBOX_CALLS_PER_SECOND', 0, env, [0, 100_000]),
  };
}

interface Starting {
  options: RuntimeOptions;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Each service's stop, in start order: they are stopped in reverse. */
  stops: Array<() => Promise<void>>;
}

async function startEmulator(options: RuntimeOptions, stops: Starting['stops']) {
  if (options.sharedDynamo) {
    return { endpoint: options.sharedDynamo.endpoint, tableName: `${TABLE_NAME}-${randomUUID()}` };
  }
  const emulator: DynamoEmulator = await startDynamoEmulator(
    options.fresh ? {} : { dataDir: path.join(options.dataDir, 'dynamodb') },
  );
  stops.push(() => emulator.stop());
  return { endpoint: emulator.endpoint, tableName: TABLE_NAME };
}

/** The emulators and the in-process adapters, and the Deps every function of this runtime gets. */
async function startServices({
  options,
  env,
  log,
  baseUrl,
  config,
  stops,
}: Starting & { baseUrl: string; config: PaymentsConfig }) {
  const { endpoint, tableName } = await startEmulator(options, stops);
  const client = dynamoClient(endpoint);
  await createTable(client, tableName);
  const repo = new DynamoRepository({ client, tableName });
  const queues = await startLocalQueues({
    visibilityTimeoutSeconds: intEnv('LOCAL_VISIBILITY_TIMEOUT_SECONDS', 5, env, [0, 43_200]),
  });
  stops.push(() => queues.stop());
  const webhooks = await startLocalWebhooks({ dataDir: options.fresh ? undefined : options.dataDir });
  stops.push(() => webhooks.stop());
  const bus = new RecordingEventBus();
  const metrics = new RecordedMetrics();
  const logger = consoleLogger(log, env.LOG_LEVEL === 'debug');
  bus.onPublish((event) =>
    log(
      `event  ${event.type.padEnd(24)} ${event.detail.paymentId ?? event.detail.orderId}${event.detail.status ? ` (${event.detail.status})` : ''}`,
    ),
  );
  const deps = buildDeps(
    // A return page that exists locally; the order id shows in the address bar.
    {
      ...policiesFromEnv(env),
      publicBaseUrl: baseUrl,
      returnUrlTemplate: `${baseUrl}/_local/dashboard?orderId={orderId}`,
    },
    {
      repo,
      ...localQueuePorts(queues),
      events: webhooks.ruleOnBus(bus),
      metrics,
      logger,
      providers: createProviders(config, globalThis.fetch, providerHttpFromEnv(env)),
      ...webhooks.adapters,
    },
  );
  if ((await repo.listProducts()).length === 0) {
    for (const product of DEMO_PRODUCTS) await repo.commit([{ kind: 'putProduct', product }]);
  }
  return {
    repo,
    queues,
    webhooks,
    bus,
    metrics,
    logger,
    deps,
    wiring: localWiring(async () => deps),
    dynamo: { endpoint, client, tableName },
  };
}

/**
 * What runs by itself, as in AWS: domain events leave through the table's stream
 * (docs/ARCHITECTURE.md#transactional-outbox), the worker polls the queue, the sweeper runs on a timer.
 */
async function startBackground({
  options,
  env,
  log,
  services,
  lambdas,
  stops,
}: Starting & { services: Awaited<ReturnType<typeof startServices>>; lambdas: ReturnType<typeof localLambdas> }) {
  const outboxPublisher = await startOutboxPublisher({
    dynamo: services.dynamo.client,
    endpoint: services.dynamo.endpoint,
    tableName: services.dynamo.tableName,
    publisher: { wiring: services.wiring },
    checkpointFile: options.fresh ? undefined : path.join(options.dataDir, 'outbox-stream-checkpoint.json'),
    pollMs: STREAM_POLL_MS,
    onError: (error) => log(`! outbox publisher: ${String(error)}`),
  });
  stops.push(() => outboxPublisher.stop());
  const { queues } = services;
  const eventSource = startSqsEventSource({
    client: queues.client,
    queueUrl: queues.queueUrl,
    handler: await lambdas.worker(),
    onError: (error) => log(`! worker poll: ${String(error)}`),
  });
  stops.push(() => eventSource.stop());
  // The expiry worker's containers: LOCAL_EXPIRY_WORKERS pollers in this one process (sharing one call rate), each a batch at a time.
  const expiryWorker = await lambdas.expiryWorker();
  for (let container = 0; container < intEnv('LOCAL_EXPIRY_WORKERS', 2, env, [1, 100]); container++) {
    const dueSource = startSqsEventSource({
      client: queues.client,
      queueUrl: queues.dueQueueUrl,
      handler: expiryWorker,
      onError: (error) => log(`! expiry worker poll: ${String(error)}`),
    });
    stops.push(() => dueSource.stop());
  }
  const sweeper = startSweeperSchedule({
    handler: await lambdas.sweeper(),
    intervalMs: intEnv('SWEEP_INTERVAL_SECONDS', 60, env, [1, 86_400]) * 1000,
    log,
  });
  stops.push(() => sweeper.stop());
  services.webhooks.startDeliverer(await lambdas.webhookDeliverer(), (error) =>
    log(`! webhook deliverer poll: ${String(error)}`),
  );
  // A run here ends once the expiry worker has drained what it enqueued, as callers (tests, the demo) expect.
  const runSweeper = async () => {
    const report = await sweeper.runSweeper();
    await queues.dueQueueDrained();
    return report;
  };
  return { runSweeper, eventsPublished: () => outboxPublisher.idle() };
}

/** The generated sandbox config, or the operator's own document (then the sandbox serves only what it has keys for). */
async function providerConfig(
  options: RuntimeOptions,
  baseUrl: string,
): Promise<{ config: PaymentsConfig; configPath: string; sandboxKeys: SandboxKeys }> {
  const generated = await loadOrCreateSandboxKeys(options.dataDir, baseUrl);
  if (!options.paymentsConfigPath)
    return { config: generated.config, configPath: generated.configPath, sandboxKeys: generated.sandboxKeys };
  const config = parsePaymentsConfigText(
    await readFile(options.paymentsConfigPath, 'utf8'),
    `PAYMENTS_CONFIG ${options.paymentsConfigPath}`,
  );
  return { config, configPath: options.paymentsConfigPath, sandboxKeys: {} };
}

/** A comma-separated list (SANDBOX_WECHAT_JSAPI_DIRECTORIES, SANDBOX_WECHAT_H5_DOMAINS), blanks dropped. */
function listOf(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
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
    throw new Error(
      `SANDBOX_REFUND_OUTCOME must be one of ${SANDBOX_REFUND_OUTCOMES.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return raw as SandboxRefundOutcome;
}

function consoleLogger(log: (line: string) => void, debug: boolean): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    log(`${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
  return {
    debug: debug ? line('debug') : () => undefined,
    info: line('info '),
    warn: line('warn '),
    error: line('error'),
  };
}
