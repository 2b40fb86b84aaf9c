import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { readFile } from 'node:fs/promises';
import type { Deps, Logger } from '../core/kernel/deps';
import { parsePaymentsConfigText } from '../providers/config';
import { createProviders } from '../providers/registry';
import { AWS_CLIENT_LIMITS } from './aws-client-limits';
import { providerHttpFromEnv, requiredEnv, secretMaxAgeSecondsFromEnv } from './env';
import { DEFAULT_PROVIDER_HTTP, type ProviderHttpConfig } from '../providers/kit/http';
import type { Observability } from './observability';

export type Providers = Deps['providers'];

export interface SecretProvidersOptions {
  /** Powertools Parameters' Secrets Manager provider: it caches the value for `maxAgeSeconds`. */
  secrets: SecretsProvider;
  secretId: string;
  maxAgeSeconds: number;
  logger: Logger;
  /** How the providers' outbound calls are bounded (default: DEFAULT_PROVIDER_HTTP). */
  http?: ProviderHttpConfig;
}

/**
 * The payment providers from the provider secret, read through Powertools Parameters with a
 * cache lifetime, so a rotated key is in use within `maxAgeSeconds` without a redeploy. The
 * providers are rebuilt only when the secret's text changed. At cold start an unreadable or
 * malformed secret is an error naming the field (never a value); once running, the previous
 * providers are kept and the problem is logged: a broken rotation must not stop payments that
 * the old keys still serve.
 */
export function providersFromSecret(options: SecretProvidersOptions): () => Promise<Providers> {
  const { secrets, secretId, maxAgeSeconds, logger, http = DEFAULT_PROVIDER_HTTP } = options;
  const source = `the provider secret ${secretId}`;
  let current: { text: string; providers: Providers } | undefined;
  return async () => {
    try {
      const text = await secrets.get(secretId, { maxAge: maxAgeSeconds });
      if (typeof text !== 'string') throw new Error(`Invalid payments config: ${source} has no SecretString`);
      if (text !== current?.text)
        current = { text, providers: createProviders(parsePaymentsConfigText(text, source), globalThis.fetch, http) };
      return current.providers;
    } catch (error) {
      if (!current) throw error;
      logger.error('provider secret unusable; still using the providers built from its previous value', {
        secretId,
        error: (error as Error).message,
      });
      return current.providers;
    }
  };
}

/**
 * A function's `providers` capability (wiring.ts): from the file PAYMENTS_CONFIG (read once;
 * local use), else from the secret PAYMENTS_SECRET_ARN.
 */
export async function providersFromEnv(
  env: NodeJS.ProcessEnv,
  observability: Observability,
): Promise<() => Promise<Providers>> {
  if (env.PAYMENTS_CONFIG) {
    const config = parsePaymentsConfigText(
      await readFile(env.PAYMENTS_CONFIG, 'utf8'),
      `PAYMENTS_CONFIG ${env.PAYMENTS_CONFIG}`,
    );
    const providers = createProviders(config, globalThis.fetch, providerHttpFromEnv(env));
    return async () => providers;
  }
  return providersFromSecret({
    secrets: new SecretsProvider({ clientConfig: AWS_CLIENT_LIMITS }),
    secretId: requiredEnv('PAYMENTS_SECRET_ARN', env),
    maxAgeSeconds: secretMaxAgeSecondsFromEnv(env),
    logger: observability.logger,
    http: providerHttpFromEnv(env),
  });
}
