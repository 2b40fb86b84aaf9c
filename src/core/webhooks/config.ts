import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../domain/webhook-delivery';

/** How delivery behaves: the retry schedule and window, each attempt's timeout, how long an event waits for the one before it. */
export interface WebhookConfig {
  retry: RetryPolicy;
  /** The whole attempt: connect, send, the answer's status and its first bytes. */
  timeoutMs: number;
  /** An event is sent no sooner than this after it happened, so that the events of its order before it are known. */
  orderHoldMs: number;
}

/** WEBHOOK_RETRY_SCHEDULE_SECONDS, WEBHOOK_RETRY_WINDOW_HOURS, WEBHOOK_TIMEOUT_MS, WEBHOOK_ORDER_HOLD_MS. */
export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = {
  retry: DEFAULT_RETRY_POLICY,
  timeoutMs: 10_000,
  orderHoldMs: 1_000,
};
