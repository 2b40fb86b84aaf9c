import {
  DEFAULT_ORDER_POLICY,
  DEFAULT_SWEEPER,
  DEFAULT_TIMING,
  type Deps,
  type Logger,
  type OrderPolicy,
  type PaymentTimingConfig,
  type SweeperConfig,
} from '../core/kernel/deps';
import type { Metrics } from '../core/kernel/metric-names';
import type { Clock, Repository } from '../core/kernel/ports';
import type { EventPublisher } from '../core/outbox/ports';
import type { NotificationQueue } from '../core/payments/notification-ports';
import { DEFAULT_REFUND_POLICY, type RefundPolicy } from '../domain/refund';
import { DEFAULT_WEBHOOK_CONFIG, type WebhookConfig } from '../core/webhooks/config';
import type { DataKeys, WebhookQueue, WebhookSender } from '../core/webhooks/ports';
import type { DuePaymentQueue } from '../core/sweeper/ports';

/** How a deployment is configured: the URLs, and policies that default to DEFAULT_* when left out. */
export interface DepsConfig {
  /** Public base URL of this API, for provider notify URLs. */
  publicBaseUrl: string;
  /** The shop's page a customer returns to after paying, `{orderId}` replaced per payment. */
  returnUrlTemplate: string;
  timing?: PaymentTimingConfig;
  sweeper?: SweeperConfig;
  orders?: OrderPolicy;
  refunds?: RefundPolicy;
  webhooks?: WebhookConfig;
}

/** The adapters behind the ports: AWS ones in Lambda (src/aws/wiring.ts), local ones in the runtime, the bench and tests. */
export interface DepsAdapters {
  repo: Repository;
  queue: NotificationQueue;
  /** The sweeper's and the expiry worker's; elsewhere a stand-in that refuses, naming the port. */
  dueQueue?: DuePaymentQueue;
  events: EventPublisher;
  metrics: Metrics;
  logger: Logger;
  providers: Deps['providers'];
  /** The system clock unless given (tests move theirs by hand). */
  clock?: Clock;
  /** Webhook delivery's ports, where a function uses them; elsewhere a stand-in that refuses, naming the port. */
  webhookQueue?: WebhookQueue;
  webhookSender?: WebhookSender;
  webhookKeys?: DataKeys;
}

const SYSTEM_CLOCK: Clock = { now: () => new Date() };

/** The one place Deps are put together: the Lambda wiring, the local runtime, the bench and the tests all come here. */
export function buildDeps(config: DepsConfig, adapters: DepsAdapters): Deps {
  return {
    ...adapters,
    clock: adapters.clock ?? SYSTEM_CLOCK,
    timing: config.timing ?? DEFAULT_TIMING,
    sweeper: config.sweeper ?? DEFAULT_SWEEPER,
    orders: config.orders ?? DEFAULT_ORDER_POLICY,
    refunds: config.refunds ?? DEFAULT_REFUND_POLICY,
    publicBaseUrl: config.publicBaseUrl,
    returnUrlTemplate: config.returnUrlTemplate,
    webhooks: config.webhooks ?? DEFAULT_WEBHOOK_CONFIG,
    dueQueue: adapters.dueQueue ?? notWired<DuePaymentQueue>('dueQueue'),
    webhookQueue: adapters.webhookQueue ?? notWired<WebhookQueue>('webhookQueue'),
    webhookSender: adapters.webhookSender ?? notWired<WebhookSender>('webhookSender'),
    webhookKeys: adapters.webhookKeys ?? notWired<DataKeys>('webhookKeys'),
  };
}

/** A port this runtime did not wire: any use of it throws, naming it. */
function notWired<T extends object>(port: string): T {
  return new Proxy({} as T, {
    get(_target, operation) {
      if (typeof operation !== 'string' || operation === 'then') return undefined;
      return () => {
        throw new Error(`${port} is not wired here: it cannot ${operation}`);
      };
    },
  });
}
