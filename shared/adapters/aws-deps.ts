import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFile } from 'node:fs/promises';
import type { Deps } from '../core/deps';
import { parsePaymentsConfig, type PaymentsConfig } from '../providers/config';
import { createProviders } from '../providers/registry';
import { DynamoRepository } from './dynamo-repository';
import { orderPolicyFromEnv, requiredEnv, sweeperFromEnv, timingFromEnv } from './env';
import { eventBridgePublisher } from './eventbridge-publisher';
import { emfMetrics, powertoolsLogger } from './powertools';
import { sqsClient, sqsNotificationQueue } from './sqs-queue';

/**
 * The production wiring, built once per Lambda container on first use. Endpoints come from the
 * SDK's own variables (AWS_ENDPOINT_URL_DYNAMODB, ...), so the same wiring runs against local
 * stand-ins. The provider config is the Secrets Manager secret PAYMENTS_SECRET_ARN, or a file
 * named by PAYMENTS_CONFIG.
 */
export async function loadPaymentsConfig(env: NodeJS.ProcessEnv = process.env): Promise<PaymentsConfig> {
  if (env.PAYMENTS_CONFIG) return parsePaymentsConfig(JSON.parse(await readFile(env.PAYMENTS_CONFIG, 'utf8')));
  const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: requiredEnv('PAYMENTS_SECRET_ARN', env) }));
  return parsePaymentsConfig(JSON.parse(secret.SecretString ?? '{}'));
}

export async function buildAwsDeps(env: NodeJS.ProcessEnv = process.env): Promise<Deps> {
  const service = env.POWERTOOLS_SERVICE_NAME ?? 'payments';
  const config = await loadPaymentsConfig(env);
  return {
    repo: new DynamoRepository({ client: new DynamoDBClient({}), tableName: requiredEnv('TABLE_NAME', env) }),
    queue: sqsNotificationQueue(sqsClient(), requiredEnv('NOTIFICATION_QUEUE_URL', env)),
    events: eventBridgePublisher(new EventBridgeClient({}), requiredEnv('EVENT_BUS_NAME', env)),
    metrics: emfMetrics(service),
    logger: powertoolsLogger(service),
    clock: { now: () => new Date() },
    providers: createProviders(config),
    timing: timingFromEnv(env),
    sweeper: sweeperFromEnv(env),
    orders: orderPolicyFromEnv(env),
    publicBaseUrl: requiredEnv('PUBLIC_BASE_URL', env).replace(/\/$/, ''),
    returnUrl: env.PAYMENT_RETURN_URL ?? `${requiredEnv('PUBLIC_BASE_URL', env).replace(/\/$/, '')}/paid`,
  };
}

let cached: Promise<Deps> | undefined;

/** Lazily built, then shared by every invocation of this container; a failed build is retried. */
export function awsDeps(): Promise<Deps> {
  cached ??= buildAwsDeps().catch((error) => {
    cached = undefined;
    throw error;
  });
  return cached;
}
