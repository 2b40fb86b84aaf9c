import {
  type PaymentTimingConfig,
  DEFAULT_ORDER_POLICY,
  DEFAULT_TIMING,
  DEFAULT_SWEEPER,
  type OrderPolicy,
  type SweeperConfig,
} from '../core/kernel/deps';
import { RETURN_URL_ORDER_PLACEHOLDER, returnUrlFor } from '../core/payments/payments';
import { DEFAULT_RECONCILIATION_TIMING, type ReconciliationTiming } from '../core/reconciliation/reconciliation';
import type { DepsConfig } from '../runtime/build-deps';
import {
  DEFAULT_PROVIDER_CALLS_PER_SECOND,
  DEFAULT_PROVIDER_HTTP,
  type ProviderHttpConfig,
} from '../providers/kit/http';
import { DEFAULT_REFUND_POLICY, type RefundPolicy } from '../domain/refund';
import { webhookConfigFromEnv } from './webhook-env';

/** Environment read once, by getters that throw with the variable's name when it is missing. */
export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`Missing environment variable ${name}`);
  return value;
}

export function intEnv(
  name: string,
  fallback: number,
  env: NodeJS.ProcessEnv = process.env,
  range: [number, number] = [0, 1_000_000],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range[0] || value > range[1]) {
    throw new Error(`${name} must be an integer from ${range[0]} to ${range[1]}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function timingFromEnv(env: NodeJS.ProcessEnv = process.env): PaymentTimingConfig {
  const ttlMinutes = intEnv('PAYMENT_TTL_MINUTES', DEFAULT_TIMING.ttlMinutes, env, [1, 24 * 60]);
  const reminderMinutes = intEnv('PAYMENT_REMINDER_MINUTES', DEFAULT_TIMING.reminderMinutes, env, [0, 24 * 60]);
  return { ttlMinutes, reminderMinutes: Math.min(reminderMinutes, ttlMinutes) };
}

export function sweeperFromEnv(env: NodeJS.ProcessEnv = process.env): SweeperConfig {
  return {
    firstQueryAfterSeconds: intEnv('PAYMENT_FIRST_QUERY_SECONDS', DEFAULT_SWEEPER.firstQueryAfterSeconds, env),
    queryEverySeconds: intEnv('PAYMENT_QUERY_EVERY_SECONDS', DEFAULT_SWEEPER.queryEverySeconds, env, [1, 86_400]),
    batchSize: intEnv('SWEEP_BATCH_SIZE', DEFAULT_SWEEPER.batchSize, env, [1, 1000]),
    budgetMs: intEnv('SWEEP_BUDGET_MS', DEFAULT_SWEEPER.budgetMs, env, [100, 900_000]),
    expiryGraceSeconds: intEnv('PAYMENT_EXPIRY_GRACE_SECONDS', DEFAULT_SWEEPER.expiryGraceSeconds, env),
    workerConcurrency: intEnv('EXPIRY_WORKER_CONCURRENCY', DEFAULT_SWEEPER.workerConcurrency, env, [1, 100]),
  };
}

/** PUBLIC_BASE_URL: this API's address, for provider notify URLs and the OpenAPI document. */
export function publicBaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return absoluteUrl('PUBLIC_BASE_URL', requiredEnv('PUBLIC_BASE_URL', env)).replace(/\/$/, '');
}

/**
 * PAYMENT_RETURN_URL: the shop's page the customer returns to after paying, `{orderId}` replaced
 * per payment (https://shop.example/orders/{orderId}). Required: no default page exists.
 */
export function returnUrlTemplateFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const template = env.PAYMENT_RETURN_URL;
  if (!template)
    throw new Error(
      `Missing environment variable PAYMENT_RETURN_URL: the shop's page customers return to after paying, e.g. https://shop.example/orders/${RETURN_URL_ORDER_PLACEHOLDER}`,
    );
  const example = returnUrlFor(template, { orderId: 'ord_example' });
  const unknown = /\{[^}]*\}/.exec(example)?.[0];
  if (unknown)
    throw new Error(
      `PAYMENT_RETURN_URL has the placeholder ${unknown}; only ${RETURN_URL_ORDER_PLACEHOLDER} is replaced`,
    );
  absoluteUrl('PAYMENT_RETURN_URL', example);
  return template;
}

/** PAYMENTS_SECRET_MAX_AGE_SECONDS: how long the provider secret is cached, so a rotation shows within it. */
export function secretMaxAgeSecondsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return intEnv('PAYMENTS_SECRET_MAX_AGE_SECONDS', 300, env, [0, 86_400]);
}

function absoluteUrl(name: string, value: string): string {
  if (!URL.canParse(value) || !['http:', 'https:'].includes(new URL(value).protocol))
    throw new Error(`${name} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * PROVIDER_TIMEOUT_MS bounds each attempt of an outbound provider call. At most 2.5 s: its
 * attempts and waits must stay inside the API functions' 10 s timeout (see DEFAULT_PROVIDER_HTTP).
 */
export function providerHttpFromEnv(env: NodeJS.ProcessEnv = process.env): ProviderHttpConfig {
  const merchantRate = intEnv('PROVIDER_CALLS_PER_SECOND', DEFAULT_PROVIDER_CALLS_PER_SECOND, env, [1, 10_000]);
  // Each container of the expiry worker takes its share (the local runtime is one container: 1).
  const containers = intEnv('EXPIRY_WORKER_MAX_CONCURRENCY', 1, env, [1, 1_000]);
  return {
    ...DEFAULT_PROVIDER_HTTP,
    timeoutMs: intEnv('PROVIDER_TIMEOUT_MS', DEFAULT_PROVIDER_HTTP.timeoutMs, env, [100, 2_500]),
    backgroundCallsPerSecond: merchantRate / containers,
  };
}

export function orderPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): OrderPolicy {
  return {
    maxPendingPerCustomer: intEnv(
      'MAX_PENDING_ORDERS_PER_CUSTOMER',
      DEFAULT_ORDER_POLICY.maxPendingPerCustomer,
      env,
      [1, 10_000],
    ),
    unpaidCancelMinutes: intEnv(
      'ORDER_UNPAID_CANCEL_MINUTES',
      DEFAULT_ORDER_POLICY.unpaidCancelMinutes,
      env,
      [0, 525_600],
    ),
  };
}

/** A boolean variable: `true` or `false`, the fallback when unset. */
export function boolEnv(name: string, fallback: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
  return raw === 'true';
}

/** REFUND_WINDOW_DAYS, REFUND_SPACING_SECONDS, AUTO_REFUND_UNUSABLE_PAYMENTS (defaults: DEFAULT_REFUND_POLICY). */
export function refundPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): RefundPolicy {
  return {
    windowDays: intEnv('REFUND_WINDOW_DAYS', DEFAULT_REFUND_POLICY.windowDays, env, [1, 3650]),
    spacingSeconds: intEnv('REFUND_SPACING_SECONDS', DEFAULT_REFUND_POLICY.spacingSeconds, env, [0, 3600]),
    autoRefundUnusablePayments: boolEnv(
      'AUTO_REFUND_UNUSABLE_PAYMENTS',
      DEFAULT_REFUND_POLICY.autoRefundUnusablePayments,
      env,
    ),
  };
}

/** The daily reconciliation's timing (docs/ARCHITECTURE.md#reconciliation). */
export function reconciliationFromEnv(env: NodeJS.ProcessEnv = process.env): ReconciliationTiming {
  return {
    carryMinutes: intEnv('RECONCILIATION_CARRY_MINUTES', DEFAULT_RECONCILIATION_TIMING.carryMinutes, env, [0, 720]),
    cutoffHour: intEnv('RECONCILIATION_CUTOFF_HOUR', DEFAULT_RECONCILIATION_TIMING.cutoffHour, env, [0, 23]),
  };
}

/** The deployment's policies (timing, sweeper, orders, refunds, webhooks), each variable falling back to its default. */
export function policiesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Required<Omit<DepsConfig, 'publicBaseUrl' | 'returnUrlTemplate'>> {
  return {
    timing: timingFromEnv(env),
    sweeper: sweeperFromEnv(env),
    orders: orderPolicyFromEnv(env),
    refunds: refundPolicyFromEnv(env),
    webhooks: webhookConfigFromEnv(env),
  };
}

/** Everything buildDeps is configured with, from a function's environment. */
export function depsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DepsConfig {
  return {
    ...policiesFromEnv(env),
    publicBaseUrl: publicBaseUrlFromEnv(env),
    returnUrlTemplate: returnUrlTemplateFromEnv(env),
  };
}
