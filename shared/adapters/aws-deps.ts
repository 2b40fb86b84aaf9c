import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { readFile } from 'node:fs/promises';
import type { Deps } from '../core/deps';
import { PAYMENT_METHODS } from '../domain/payment';
import type { Wiring } from '../http/handler';
import { ALL_FUNCTIONS, type BACKGROUND_FUNCTIONS, type FunctionAccess, type RouteFunction } from '../http/routes';
import { parsePaymentsConfigText } from '../providers/config';
import { createProviders } from '../providers/registry';
import { AWS_CLIENT_LIMITS } from './aws-client-limits';
import { DynamoRepository } from './dynamo-repository';
import {
  orderPolicyFromEnv,
  refundPolicyFromEnv,
  publicBaseUrlFromEnv,
  requiredEnv,
  returnUrlTemplateFromEnv,
  secretMaxAgeSecondsFromEnv,
  sweeperFromEnv,
  timingFromEnv,
} from './env';
import { eventBridgePublisher } from './eventbridge-publisher';
import { type Observability, powertoolsObservability } from './observability';
import { type Providers, providersFromSecret } from './provider-secret';
import { sqsClient, sqsNotificationQueue } from './sqs-queue';

/** Every Lambda function of the service, by its folder under functions/. */
export type FunctionName = RouteFunction | (typeof BACKGROUND_FUNCTIONS)[keyof typeof BACKGROUND_FUNCTIONS]['fn'];

export function accessOf(fn: FunctionName): FunctionAccess {
  const entry = ALL_FUNCTIONS.find((candidate) => candidate.fn === fn);
  if (!entry) throw new Error(`${fn} has no entry in shared/http/routes.ts`);
  return entry.access;
}

/**
 * The production wiring of one function: `export const handler = makeHandler(awsWiring('<fn>'))`.
 * It builds only what the function's `access` (shared/http/routes.ts) allows, the same access the
 * CDK stack grants: no DynamoDB client without `table`, no SQS client without `queue`, no
 * EventBridge client without `events`, and without `providers` the provider secret (the
 * merchants' private keys) is never read. Anything else is a stand-in whose use fails, naming
 * the function and the access it lacks.
 *
 * Logger and metrics exist from module load (the observability middleware needs them before the
 * first invocation); the rest is built on the first invocation, a cold start, so configuration
 * errors surface there, naming the variable. Endpoints come from the SDK's own variables
 * (AWS_ENDPOINT_URL_DYNAMODB, ...), so the same wiring runs against local stand-ins.
 */
export function awsWiring(fn: FunctionName, env: NodeJS.ProcessEnv = process.env): Wiring {
  const observability = powertoolsObservability(env.POWERTOOLS_SERVICE_NAME ?? 'payments');
  let built: Promise<ContainerDeps> | undefined;
  const deps = async (): Promise<Deps> => {
    try {
      built ??= buildContainerDeps(fn, accessOf(fn), observability, env).catch((error) => {
        built = undefined; // the next invocation tries again
        throw error;
      });
      const { shared, providers } = await built;
      return { ...shared, providers: await providers() };
    } catch (error) {
      observability.logger.error('function wiring failed', { fn, error: (error as Error).message });
      throw error;
    }
  };
  return { deps, observability: observability.middleware };
}

/** Built once per container; only the providers are looked at again per invocation (secret rotation). */
interface ContainerDeps {
  shared: Omit<Deps, 'providers'>;
  providers: () => Promise<Providers>;
}

async function buildContainerDeps(fn: FunctionName, access: FunctionAccess, observability: Observability, env: NodeJS.ProcessEnv): Promise<ContainerDeps> {
  const deny = <T>(what: string, operations: readonly string[]) => withoutAccess<T>(fn, what, operations);
  const shared: Omit<Deps, 'providers'> = {
    repo:
      access.table === 'none'
        ? deny('table', REPOSITORY_OPERATIONS)
        : new DynamoRepository({ client: new DynamoDBClient(AWS_CLIENT_LIMITS), tableName: requiredEnv('TABLE_NAME', env) }),
    queue: access.queue ? sqsNotificationQueue(sqsClient(AWS_CLIENT_LIMITS), requiredEnv('NOTIFICATION_QUEUE_URL', env)) : deny('queue', ['enqueue']),
    events: access.events ? eventBridgePublisher(new EventBridgeClient(AWS_CLIENT_LIMITS), requiredEnv('EVENT_BUS_NAME', env)) : deny('events', ['publish']),
    metrics: observability.metrics,
    logger: observability.logger,
    clock: { now: () => new Date() },
    timing: timingFromEnv(env),
    sweeper: sweeperFromEnv(env),
    orders: orderPolicyFromEnv(env),
    refunds: refundPolicyFromEnv(env),
    publicBaseUrl: publicBaseUrlFromEnv(env),
    returnUrlTemplate: returnUrlTemplateFromEnv(env),
  };
  if (!access.providers) {
    const none = deny<Providers>('providers', PAYMENT_METHODS);
    return { shared, providers: async () => none };
  }
  return { shared, providers: await providerSource(env, observability) };
}

/** The provider config: the file PAYMENTS_CONFIG (read once; local use), else the secret PAYMENTS_SECRET_ARN. */
async function providerSource(env: NodeJS.ProcessEnv, observability: Observability): Promise<() => Promise<Providers>> {
  if (env.PAYMENTS_CONFIG) {
    const providers = createProviders(parsePaymentsConfigText(await readFile(env.PAYMENTS_CONFIG, 'utf8'), `PAYMENTS_CONFIG ${env.PAYMENTS_CONFIG}`));
    return async () => providers;
  }
  return providersFromSecret({
    secrets: new SecretsProvider({ clientConfig: AWS_CLIENT_LIMITS }),
    secretId: requiredEnv('PAYMENTS_SECRET_ARN', env),
    maxAgeSeconds: secretMaxAgeSecondsFromEnv(env),
    logger: observability.logger,
  });
}

const REPOSITORY_OPERATIONS = Object.getOwnPropertyNames(DynamoRepository.prototype).filter((name) => name !== 'constructor');

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
          throw new Error(`${fn} has no ${what} access (access in shared/http/routes.ts): it cannot use ${what}.${property}`);
        }
        return undefined;
      },
    },
  ) as T;
}
