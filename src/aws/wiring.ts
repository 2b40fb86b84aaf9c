import type { Deps } from '../core/kernel/deps';
import type { EventPublisher } from '../core/outbox/ports';
import type { NotificationQueue } from '../core/payments/notification-ports';
import type { Repository } from '../core/kernel/ports';
import { PAYMENT_METHODS } from '../domain/payment';
import type { Wiring } from '../runtime/wiring';
import { accessOf, type FunctionAccess, type FunctionName } from '../runtime/functions';
import { depsConfigFromEnv } from './env';
import { buildDeps, type DepsAdapters, type DepsConfig } from '../runtime/build-deps';
import { type Observability, powertoolsObservability } from './observability';
import type { Providers } from './provider-secret';
import type { DataKeys, WebhookQueue, WebhookSender } from '../core/webhooks/ports';
import type { DuePaymentQueue } from '../core/sweeper/ports';

/**
 * How a function's handler module builds each port its access allows, from the environment. Each
 * lives in the module of its AWS client (dynamoTable, sqsQueue, eventBus, providersFromEnv), so a
 * function's bundle holds only the clients its handler imports: esbuild cannot drop a client that
 * is imported and merely never constructed.
 */
export interface AwsCapabilities {
  table?: (env: NodeJS.ProcessEnv) => Repository;
  queue?: (env: NodeJS.ProcessEnv) => NotificationQueue;
  events?: (env: NodeJS.ProcessEnv) => EventPublisher;
  /** The current providers on each call: a rotated provider secret is picked up. */
  providers?: (env: NodeJS.ProcessEnv, observability: Observability) => Promise<() => Promise<Providers>>;
  webhookQueue?: (env: NodeJS.ProcessEnv) => WebhookQueue;
  dueQueue?: (env: NodeJS.ProcessEnv) => DuePaymentQueue;
  webhookKeys?: (env: NodeJS.ProcessEnv) => DataKeys;
  /** Outbound HTTPS to shop endpoints: no AWS permission governs it (the sender's own SSRF rules do). */
  webhookSender?: (env: NodeJS.ProcessEnv) => WebhookSender;
}

/** The capabilities an access entry governs; the webhook sender needs no grant. */
type GovernedCapability = Exclude<keyof AwsCapabilities, 'webhookSender'>;

/** Which ports an access allows, by the capability that builds each. */
function allowedCapabilities(access: FunctionAccess): Record<GovernedCapability, boolean> {
  return {
    table: access.table !== 'none',
    queue: access.queue || access.redrive === true,
    events: access.events,
    providers: access.providers,
    webhookQueue: access.webhookQueue ?? false,
    dueQueue: access.dueQueue ?? false,
    webhookKeys: access.webhookKeys !== undefined,
  };
}

/**
 * The production wiring of one function:
 * `export const handler = makeHandler(awsWiring('<fn>', { table: dynamoTable, ... }))`, with
 * exactly the capabilities its `access` (src/runtime/functions.ts) allows, the same access the CDK
 * stack grants; anything else fails the module's load, naming the function. A port without access
 * is a stand-in whose use fails, naming the function and the access it lacks; without `providers`
 * the provider secret (the merchants' private keys) is never read.
 *
 * Logger and metrics exist from module load (the observability middleware needs them before the
 * first invocation); the rest is built on the first invocation, a cold start, so configuration
 * errors surface there, naming the variable. Endpoints come from the SDK's own variables
 * (AWS_ENDPOINT_URL_DYNAMODB, ...), so the same wiring runs against local stand-ins.
 */
export function awsWiring(
  fn: FunctionName,
  capabilities: AwsCapabilities,
  env: NodeJS.ProcessEnv = process.env,
): Wiring {
  const allowed = allowedCapabilities(accessOf(fn));
  const mismatched = (Object.keys(allowed) as GovernedCapability[]).filter(
    (port) => allowed[port] !== (capabilities[port] !== undefined),
  );
  if (mismatched.length > 0) {
    const says = mismatched.map(
      (port) =>
        `${port}: access ${allowed[port] ? 'allows it' : 'does not allow it'}, the handler ${capabilities[port] ? 'wires it' : 'does not'}`,
    );
    throw new Error(`${fn}: its wiring does not match its access in src/runtime/functions.ts (${says.join('; ')})`);
  }
  const observability = powertoolsObservability(env.POWERTOOLS_SERVICE_NAME ?? 'payments');
  let built: Promise<ContainerDeps> | undefined;
  const deps = async (): Promise<Deps> => {
    try {
      built ??= buildContainerDeps(fn, capabilities, observability, env).catch((error) => {
        built = undefined; // the next invocation tries again
        throw error;
      });
      const { config, adapters, providers } = await built;
      return buildDeps(config, { ...adapters, providers: await providers() });
    } catch (error) {
      observability.logger.error('function wiring failed', { fn, error: (error as Error).message });
      throw error;
    }
  };
  return { deps, observability: observability.middleware };
}

/** Built once per container; only the providers are looked at again per invocation (secret rotation). */
interface ContainerDeps {
  config: DepsConfig;
  adapters: Omit<DepsAdapters, 'providers'>;
  providers: () => Promise<Providers>;
}

async function buildContainerDeps(
  fn: FunctionName,
  capabilities: AwsCapabilities,
  observability: Observability,
  env: NodeJS.ProcessEnv,
): Promise<ContainerDeps> {
  const deny = <T>(what: string, operations: readonly string[]) => withoutAccess<T>(fn, what, operations);
  const adapters = {
    repo: capabilities.table ? capabilities.table(env) : deny<Repository>('table', REPOSITORY_OPERATIONS),
    queue: capabilities.queue
      ? capabilities.queue(env)
      : deny<NotificationQueue>('queue', ['enqueue', 'replayDeadLetters']),
    events: capabilities.events ? capabilities.events(env) : deny<EventPublisher>('events', ['publish']),
    webhookQueue: capabilities.webhookQueue
      ? capabilities.webhookQueue(env)
      : deny<WebhookQueue>('webhookQueue', ['enqueue']),
    dueQueue: capabilities.dueQueue ? capabilities.dueQueue(env) : deny<DuePaymentQueue>('dueQueue', ['enqueue']),
    webhookKeys: capabilities.webhookKeys
      ? capabilities.webhookKeys(env)
      : deny<DataKeys>('webhookKeys', ['generateDataKey', 'unwrapDataKey']),
    ...(capabilities.webhookSender ? { webhookSender: capabilities.webhookSender(env) } : {}),
    metrics: observability.metrics,
    logger: observability.logger,
  };
  // After the adapters: a missing TABLE_NAME is reported before a missing PUBLIC_BASE_URL.
  const config = depsConfigFromEnv(env);
  if (!capabilities.providers) {
    const none = deny<Providers>('providers', PAYMENT_METHODS);
    return { config, adapters, providers: async () => none };
  }
  return { config, adapters, providers: await capabilities.providers(env, observability) };
}

/** Every operation of the Repository port (the compiler keeps the list complete), refused without table access. */
const REPOSITORY_OPERATIONS = Object.keys({
  commit: true,
  getProducts: true,
  listProducts: true,
  getOrder: true,
  getPayment: true,
  getPayments: true,
  getRefund: true,
  getRefunds: true,
  findDueRefunds: true,
  getIdempotencyRecord: true,
  getNotificationRecord: true,
  getArchivedCallbacks: true,
  findDuePayments: true,
  findUnpaidOrders: true,
  parkUndeliverable: true,
  countOpenPayments: true,
  oldestOpenRefundCreatedAt: true,
  listLedger: true,
  getReconciliation: true,
  getWebhookEndpoint: true,
  listWebhookEndpoints: true,
  getWebhookDelivery: true,
  listWebhookDeliveries: true,
  hasUnfinishedPredecessor: true,
  markWebhookEndpointFailing: true,
  markWebhookEndpointHealthy: true,
  disableWebhookEndpoint: true,
  listOrders: true,
  listPayments: true,
  countPaymentsWith: true,
  listRefunds: true,
  countAbnormalRefunds: true,
  listDeadLetters: true,
  countDeadLetters: true,
  getDifference: true,
  listOpenDifferences: true,
  countOpenDifferences: true,
  listAudit: true,
} satisfies Record<keyof Repository, true>);

/**
 * Stands in for a port this function has no access to: it holds no client, and reaching for one
 * of its operations (or providers) throws, naming the function and the access it lacks.
 */
function withoutAccess<T>(fn: string, what: string, operations: readonly string[]): T {
  return new Proxy(
    {},
    {
      get(_target, property) {
        if (typeof property === 'string' && operations.includes(property)) {
          throw new Error(
            `${fn} has no ${what} access (access in src/runtime/functions.ts): it cannot use ${what}.${property}`,
          );
        }
        return undefined;
      },
    },
  ) as T;
}
