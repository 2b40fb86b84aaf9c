import * as z from 'zod';
import { WEBHOOK_DELIVERY_STATUSES } from '../domain/webhook-delivery';
import { WEBHOOK_EVENT_SELECTORS } from '../domain/webhook-endpoint';
import { TimestampSchema } from './response-schemas';

/**
 * The webhook routes' response bodies, for the OpenAPI document: what endpointView and
 * deliveryView (src/core/webhooks/views.ts) build; test/unit/http/webhook-openapi.test.ts parses
 * real views with them. Open objects, as every response (docs/API.md#conventions).
 */
export const WebhookEndpointSchema = z.object({
  endpointId: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_SELECTORS)).describe('"*": every event type, those added later included'),
  description: z.string().optional(),
  enabled: z.boolean(),
  disabledReason: z.string().optional().describe('Why it is disabled: by a person, a 410 Gone, or 3 days failing'),
  disabledAt: TimestampSchema.optional(),
  failingSince: TimestampSchema.optional().describe('When the current run of failed attempts began'),
  lastError: z.string().optional(),
  secretCreatedAt: TimestampSchema,
  previousSecretExpiresAt: TimestampSchema.optional().describe(
    'After a rotation: until then the old secret signs beside the new one (two signatures)',
  ),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});

export const WebhookEndpointEnvelopeSchema = z.object({ endpoint: WebhookEndpointSchema });
export const WebhookEndpointWithSecretSchema = z.object({
  endpoint: WebhookEndpointSchema,
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+=*$/)
    .describe('whsec_ + base64 of 32 bytes (Standard Webhooks): shown in this answer only, never again'),
});
export const WebhookEndpointListSchema = z.object({ endpoints: z.array(WebhookEndpointSchema) });
export const DeletedWebhookEndpointSchema = z.object({ endpointId: z.string(), deleted: z.literal(true) });

export const WebhookAttemptSchema = z.object({
  at: TimestampSchema,
  trigger: z.enum(['event', 'retry', 'replay']),
  statusCode: z.int().optional().describe('The HTTP status, when an answer came'),
  latencyMs: z.int().min(0),
  responseBody: z.string().optional().describe("The answer's first 1 KB"),
  error: z.string().optional().describe('Timeout, refused connection, a redirect (not followed), ...'),
});

export const WebhookDeliverySchema = z.object({
  deliveryId: z.string(),
  endpointId: z.string(),
  eventId: z.string().describe('The webhook-id header: the receiver’s dedupe key'),
  eventType: z.string(),
  orderId: z.string().optional(),
  occurredAt: TimestampSchema,
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attemptCount: z.int().min(0),
  nextAttemptAt: TimestampSchema.optional(),
  finalReason: z.string().optional().describe('Why no further attempt is scheduled although the last one failed'),
  attempts: z.array(WebhookAttemptSchema).describe('Oldest first, the latest 50'),
  event: z.record(z.string(), z.unknown()).describe('The body every attempt sends: {type, id, timestamp, data}'),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});

export const WebhookDeliveryListSchema = z.object({
  deliveries: z.array(WebhookDeliverySchema).describe('Newest event first'),
  nextCursor: z.string().optional(),
});
export const WebhookReplaySchema = z.object({ delivery: WebhookDeliverySchema, replay: z.literal('queued') });
export const WebhookRangeReplaySchema = z.object({
  queued: z.int().min(0).describe('Deliveries queued now, oldest first'),
  nextCursor: z.string().optional().describe('More remain: call again with it'),
});

/** Named components and which route answers which, merged into openapi.ts's tables. */
export const WEBHOOK_RESPONSE_COMPONENTS = {
  WebhookEndpoint: WebhookEndpointSchema,
  WebhookEndpointEnvelope: WebhookEndpointEnvelopeSchema,
  WebhookEndpointWithSecret: WebhookEndpointWithSecretSchema,
  WebhookEndpointList: WebhookEndpointListSchema,
  DeletedWebhookEndpoint: DeletedWebhookEndpointSchema,
  WebhookAttempt: WebhookAttemptSchema,
  WebhookDelivery: WebhookDeliverySchema,
  WebhookDeliveryList: WebhookDeliveryListSchema,
  WebhookReplay: WebhookReplaySchema,
  WebhookRangeReplay: WebhookRangeReplaySchema,
} satisfies Record<string, z.ZodType>;

export const WEBHOOK_SUCCESS_BODY: Readonly<Record<string, keyof typeof WEBHOOK_RESPONSE_COMPONENTS>> = {
  'create-webhook-endpoint': 'WebhookEndpointWithSecret',
  'list-webhook-endpoints': 'WebhookEndpointList',
  'update-webhook-endpoint': 'WebhookEndpointEnvelope',
  'delete-webhook-endpoint': 'DeletedWebhookEndpoint',
  'rotate-webhook-secret': 'WebhookEndpointWithSecret',
  'list-webhook-deliveries': 'WebhookDeliveryList',
  'replay-webhook-delivery': 'WebhookReplay',
  'replay-webhook-range': 'WebhookRangeReplay',
};
