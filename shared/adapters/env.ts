import type { PaymentTimingConfig } from '../core/ports';
import { DEFAULT_ORDER_POLICY, DEFAULT_SWEEPER, type OrderPolicy, type SweeperConfig } from '../core/deps';

/** Environment read once, by getters that throw with the variable's name when it is missing. */
export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`Missing environment variable ${name}`);
  return value;
}

export function intEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env, range: [number, number] = [0, 1_000_000]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range[0] || value > range[1]) {
    throw new Error(`${name} must be an integer from ${range[0]} to ${range[1]}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function timingFromEnv(env: NodeJS.ProcessEnv = process.env): PaymentTimingConfig {
  const ttlMinutes = intEnv('PAYMENT_TTL_MINUTES', 30, env, [1, 24 * 60]);
  const reminderMinutes = intEnv('PAYMENT_REMINDER_MINUTES', 5, env, [0, 24 * 60]);
  return { ttlMinutes, reminderMinutes: Math.min(reminderMinutes, ttlMinutes) };
}

export function sweeperFromEnv(env: NodeJS.ProcessEnv = process.env): SweeperConfig {
  return {
    firstQueryAfterSeconds: intEnv('PAYMENT_FIRST_QUERY_SECONDS', DEFAULT_SWEEPER.firstQueryAfterSeconds, env),
    queryEverySeconds: intEnv('PAYMENT_QUERY_EVERY_SECONDS', DEFAULT_SWEEPER.queryEverySeconds, env, [1, 86_400]),
    batchSize: intEnv('SWEEP_BATCH_SIZE', DEFAULT_SWEEPER.batchSize, env, [1, 1000]),
    budgetMs: intEnv('SWEEP_BUDGET_MS', DEFAULT_SWEEPER.budgetMs, env, [100, 900_000]),
    expiryGraceSeconds: intEnv('PAYMENT_EXPIRY_GRACE_SECONDS', DEFAULT_SWEEPER.expiryGraceSeconds, env),
  };
}

export function orderPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): OrderPolicy {
  return {
    maxPendingPerCustomer: intEnv('MAX_PENDING_ORDERS_PER_CUSTOMER', DEFAULT_ORDER_POLICY.maxPendingPerCustomer, env, [1, 10_000]),
    unpaidCancelMinutes: intEnv('ORDER_UNPAID_CANCEL_MINUTES', DEFAULT_ORDER_POLICY.unpaidCancelMinutes, env, [1, 525_600]),
  };
}
