import { DEFAULT_WEBHOOK_CONFIG, type WebhookConfig } from '../core/webhooks/config';
import { intEnv } from './env';

/**
 * WEBHOOK_RETRY_SCHEDULE_SECONDS (a comma list, the last repeating), WEBHOOK_RETRY_WINDOW_HOURS,
 * WEBHOOK_TIMEOUT_MS (at most the 10 s the contract promises), WEBHOOK_ORDER_HOLD_MS.
 */
export function webhookConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  return {
    retry: {
      scheduleSeconds: retryScheduleFromEnv(env),
      windowHours: intEnv('WEBHOOK_RETRY_WINDOW_HOURS', DEFAULT_WEBHOOK_CONFIG.retry.windowHours, env, [1, 720]),
    },
    timeoutMs: intEnv('WEBHOOK_TIMEOUT_MS', DEFAULT_WEBHOOK_CONFIG.timeoutMs, env, [100, 10_000]),
    orderHoldMs: intEnv('WEBHOOK_ORDER_HOLD_MS', DEFAULT_WEBHOOK_CONFIG.orderHoldMs, env, [0, 10_000]),
  };
}

function retryScheduleFromEnv(env: NodeJS.ProcessEnv): number[] {
  const raw = env.WEBHOOK_RETRY_SCHEDULE_SECONDS;
  if (raw === undefined || raw === '') return [...DEFAULT_WEBHOOK_CONFIG.retry.scheduleSeconds];
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 1 || value > 86_400))
    throw new Error(
      `WEBHOOK_RETRY_SCHEDULE_SECONDS must be a comma list of whole seconds from 1 to 86400, got ${JSON.stringify(raw)}`,
    );
  return values;
}
