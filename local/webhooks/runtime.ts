import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { randomUUID } from 'node:crypto';
import { EVENT_SOURCE } from '../../src/aws/eventbridge-publisher';
import { sqsClient } from '../../src/aws/sqs-queue';
import { sqsWebhookQueue } from '../../src/aws/webhook-queue';
import { webhookSender } from '../../src/aws/webhook-sender';
import type { Deps } from '../../src/core/kernel/deps';
import type { EventPublisher, PublishFailure } from '../../src/core/outbox/ports';
import { createWebhookEndpoint } from '../../src/core/webhooks/endpoints';
import type { DomainEvent } from '../../src/domain/events';
import type { WebhookNetworkPolicy } from '../../src/domain/webhook-address';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../dynamodb-emulator';
import { type SqsHandler, startSqsEventSource } from '../sqs-event-source';
import { loadOrCreateWebhookKey, localDataKeys } from './local-keys';

/** Receives before a webhook message is dead-lettered: the same number the CDK stack sets. */
export const WEBHOOK_MAX_RECEIVE_COUNT = 5;
/** Lambda runs several batches of the queue at once; so do we, so one slow batch holds no other. */
const DELIVERER_CONCURRENCY = 4;
/** Plain http and loopback receivers (webhooks:listen, a shop on this machine); everything else as in AWS. */
export const LOCAL_NETWORK_POLICY: WebhookNetworkPolicy = { allowHttp: true, allowLoopback: true };

export interface LocalWebhooks {
  queueUrl: string;
  dlqUrl: string;
  client: SQSClient;
  /** The ports the deliverer and the admin routes use: fauxqs, the local key, the sender with the local policy. */
  adapters: Pick<Deps, 'webhookQueue' | 'webhookSender' | 'webhookKeys'>;
  /** The EventBridge rule's stand-in: publishes to the bus, then puts each event on the webhook queue as the rule's SQS target does. */
  ruleOnBus(bus: EventPublisher): EventPublisher;
  /** The deliverer, polling the webhook queue as Lambda's event source mapping does. */
  startDeliverer(handler: SqsHandler, onError: (error: unknown) => void): void;
  /** Resolves once the webhook queue has nothing visible left to hand out. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** The webhook queue and its DLQ on a fauxqs of their own, the local master key, the sender. */
export async function startLocalWebhooks(options: { dataDir?: string }): Promise<LocalWebhooks> {
  const server = await startFauxqs({ port: 0, logger: false, defaultRegion: LOCAL_REGION });
  const dlq = server.createQueue('payment-webhooks-dlq', {
    region: LOCAL_REGION,
    attributes: { MessageRetentionPeriod: '1209600' },
  });
  const queue = server.createQueue('payment-webhooks', {
    region: LOCAL_REGION,
    attributes: {
      VisibilityTimeout: '60',
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.queueArn,
        maxReceiveCount: String(WEBHOOK_MAX_RECEIVE_COUNT),
      }),
    },
  });
  const client = sqsClient({ endpoint: server.address, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const masterKey = await loadOrCreateWebhookKey(options.dataDir);
  const sources: Array<ReturnType<typeof startSqsEventSource>> = [];
  return {
    queueUrl: queue.queueUrl,
    dlqUrl: dlq.queueUrl,
    client,
    adapters: {
      webhookQueue: sqsWebhookQueue(client, queue.queueUrl),
      webhookSender: webhookSender({ policy: LOCAL_NETWORK_POLICY }),
      webhookKeys: localDataKeys(masterKey),
    },
    ruleOnBus: (bus) => ruleOnBus(bus, client, queue.queueUrl),
    startDeliverer(handler, onError) {
      for (let poller = 0; poller < DELIVERER_CONCURRENCY; poller++)
        sources.push(
          startSqsEventSource({ client, queueUrl: queue.queueUrl, queueArn: queue.queueArn, handler, onError }),
        );
    },
    idle: async () => {
      if (sources[0]) await sources[0].idle();
    },
    async stop() {
      await Promise.all(sources.map((source) => source.stop()));
      client.destroy();
      await server.stop();
    },
  };
}

/** An event as an EventBridge rule's SQS target receives it: the whole envelope, the detail as the publisher put it. */
export function busEnvelope(event: DomainEvent): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': event.type,
    source: EVENT_SOURCE,
    account: '000000000000',
    // EventBridge keeps whole seconds; the detail carries the exact time (src/core/webhooks/messages.ts).
    time: new Date(event.occurredAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [],
    detail: { eventId: event.id, occurredAt: event.occurredAt, ...event.detail },
  };
}

function ruleOnBus(bus: EventPublisher, client: SQSClient, queueUrl: string): EventPublisher {
  return {
    async publish(events) {
      const { failed } = await bus.publish(events);
      const published = events.filter((event) => !failed.some((failure) => failure.event === event));
      const unqueued: PublishFailure[] = [];
      for (let start = 0; start < published.length; start += 10) {
        const batch = published.slice(start, start + 10);
        try {
          const result = await client.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: batch.map((event, index) => ({
                Id: String(index),
                MessageBody: JSON.stringify(busEnvelope(event)),
              })),
            }),
          );
          for (const entry of result.Failed ?? [])
            unqueued.push({ event: batch[Number(entry.Id)]!, reason: entry.Code ?? 'refused', retryable: true });
        } catch (error) {
          // The rule retries its target; here the outbox publisher does, by the event not being acknowledged.
          unqueued.push(...batch.map((event) => ({ event, reason: String(error), retryable: true })));
        }
      }
      return { failed: [...failed, ...unqueued] };
    },
  };
}

/** LOCAL_WEBHOOK_URL: an endpoint for that URL at start-up, unless one exists; its secret is printed once. */
export async function registerLocalWebhook(deps: Deps, url: string | undefined, log: (line: string) => void) {
  if (!url) return;
  const existing = (await deps.repo.listWebhookEndpoints()).find((endpoint) => endpoint.url === new URL(url).href);
  if (existing) {
    log(`webhook endpoint ${existing.endpointId} already sends to ${existing.url} (its secret was shown when made)`);
    return;
  }
  const { endpoint, secret } = await createWebhookEndpoint(deps, { url });
  log(`webhook endpoint ${endpoint.endpointId} → ${endpoint.url}\n  signing secret (shown once): ${secret}`);
}
