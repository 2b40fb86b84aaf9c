import type { Node } from 'constructs';
import { intEnv, timingFromEnv } from '../src/aws/env';
import type { PaymentTimingConfig } from '../src/core/kernel/deps';

/** Context a deployment cannot do without: no default would be right (`npm run synth` passes example values). */
export const REQUIRED_CONTEXT = ['jwtIssuer', 'jwtAudience', 'returnUrl'] as const;

export const DEFAULT_THROTTLE = { burstLimit: 200, rateLimit: 100 };

export interface DeployConfig {
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  /** The shop's page a customer returns to after paying (PAYMENT_RETURN_URL), e.g. `https://shop.example/orders/{orderId}`. */
  readonly returnUrl: string;
  /** Where providers reach the API (a custom domain); the API's own endpoint when absent. */
  readonly publicBaseUrl?: string;
  /** An existing provider config secret; the stack creates an empty one when absent. */
  readonly paymentsSecretArn?: string;
  readonly alarmEmail?: string;
  /** Browser origins allowed to call the API; no CORS at all when empty. */
  readonly allowedOrigins: readonly string[];
  readonly throttle: { readonly burstLimit: number; readonly rateLimit: number };
  readonly timing: PaymentTimingConfig;
  /** The token claims carrying a payer's WeChat openid / Alipay open_id (PAYER_OPENID_CLAIM, PAYER_ALIPAY_OPEN_ID_CLAIM). */
  readonly payerClaims: { readonly openid?: string; readonly alipayOpenId?: string };
}

/** `https://host[:port]/path…` or the reason it is not; `{placeholders}` are allowed in the path. */
function httpsUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  return url.protocol === 'https:' ? undefined : 'must be an https URL';
}

/** A browser origin: scheme and host (and port), nothing else. `*` is refused: the shop's origins are known. */
function originProblem(value: string): string | undefined {
  if (value === '*') return 'must list origins, not *';
  try {
    const url = new URL(value);
    if (url.origin !== value) return `must be an origin like https://shop.example (got ${value})`;
    return url.protocol === 'https:' || url.hostname === 'localhost' ? undefined : `must be https (got ${value})`;
  } catch {
    return `is not an origin (got ${value})`;
  }
}

/**
 * Reads and checks the deployment's context (`-c key=value`, cdk.json or cdk.context.json) once,
 * so a bad value fails the synth with every problem named instead of a function at cold start.
 */
export function readDeployConfig(node: Node): DeployConfig {
  const context = (key: string): string | undefined => {
    const value = node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const missing = REQUIRED_CONTEXT.filter((key) => context(key) === undefined);
  if (missing.length > 0) {
    throw new Error(
      `Missing required context: ${missing.join(', ')}. Pass each with -c key=value (see docs/DEPLOY.md).`,
    );
  }
  const problems: string[] = [];
  const check = (key: string, problem: string | undefined) => problem && problems.push(`${key} ${problem}`);
  for (const key of ['jwtIssuer', 'returnUrl', 'publicBaseUrl'] as const) {
    const value = context(key);
    if (value !== undefined) check(key, httpsUrlProblem(value));
  }
  const allowedOrigins = (context('allowedOrigins') ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of allowedOrigins) check('allowedOrigins', originProblem(origin));
  const limit = (key: string, fallback: number) => {
    try {
      return intEnv(key, fallback, { [key]: context(key) }, [1, 100_000]);
    } catch (error) {
      problems.push((error as Error).message);
      return fallback;
    }
  };
  const throttle = {
    burstLimit: limit('throttleBurstLimit', DEFAULT_THROTTLE.burstLimit),
    rateLimit: limit('throttleRateLimit', DEFAULT_THROTTLE.rateLimit),
  };
  let timing: PaymentTimingConfig | undefined;
  try {
    // The runtime's own parser, so synth rejects what the functions would reject at cold start.
    timing = timingFromEnv({
      PAYMENT_TTL_MINUTES: context('paymentTtlMinutes'),
      PAYMENT_REMINDER_MINUTES: context('paymentReminderMinutes'),
    });
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0 || !timing) throw new Error(`Invalid context: ${problems.join('; ')}.`);
  return {
    jwtIssuer: context('jwtIssuer')!,
    jwtAudience: context('jwtAudience')!,
    returnUrl: context('returnUrl')!,
    publicBaseUrl: context('publicBaseUrl')?.replace(/\/+$/, ''),
    paymentsSecretArn: context('paymentsSecretArn'),
    alarmEmail: context('alarmEmail'),
    allowedOrigins,
    throttle,
    timing,
    payerClaims: { openid: context('payerOpenidClaim'), alipayOpenId: context('payerAlipayOpenIdClaim') },
  };
}
