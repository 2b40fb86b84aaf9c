import * as z from 'zod/mini';
import '../core/kernel/zod-english';
import { DELIVERY_ID_PATTERN } from '../core/webhooks/identity';
import { MAX_REPLAY_RANGE_DAYS } from '../core/webhooks/log';
import { WEBHOOK_DELIVERY_STATUSES } from '../domain/webhook-delivery';
import { MAX_WEBHOOK_URL_LENGTH, WEBHOOK_EVENT_SELECTORS } from '../domain/webhook-endpoint';

/** The webhook routes' request contract (docs/API.md#webhooks), beside the shared one in schemas.ts. */

export const EndpointId = z.string().check(z.regex(/^whe_[0-9a-z]{22}$/, 'not a whe_ id'));
export const DeliveryId = z.string().check(z.regex(DELIVERY_ID_PATTERN, 'not a whd_ id'));
const WebhookUrl = z.string().check(z.minLength(1), z.maxLength(MAX_WEBHOOK_URL_LENGTH));
const EventSelectors = z
  .array(z.enum(WEBHOOK_EVENT_SELECTORS))
  .check(z.minLength(1, 'list at least one event type, or "*" for all'), z.maxLength(WEBHOOK_EVENT_SELECTORS.length));
const Description = z.string().check(z.minLength(1), z.maxLength(200));
const DeliveryStatus = z.enum(WEBHOOK_DELIVERY_STATUSES);
/** A cursor is what a listing answered as nextCursor: base64url, bounded. */
const Cursor = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,1024}$/, 'not a cursor this API gave'));

export const CreateWebhookEndpointBody = z.strictObject({
  url: WebhookUrl,
  events: z.optional(EventSelectors),
  description: z.optional(Description),
});

export const UpdateWebhookEndpointBody = z
  .strictObject({
    url: z.optional(WebhookUrl),
    events: z.optional(EventSelectors),
    description: z.optional(Description),
    enabled: z.optional(z.boolean()),
  })
  .check(
    z.refine((patch) => Object.keys(patch).length > 0, 'change at least one of url, events, description, enabled'),
  );

export const WebhookEndpointParams = z.object({ endpointId: EndpointId });
export const WebhookDeliveryParams = z.object({ endpointId: EndpointId, deliveryId: DeliveryId });

export const ListWebhookDeliveriesQuery = z._default(
  z.object({
    status: z.optional(DeliveryStatus),
    cursor: z.optional(Cursor),
    limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100))),
  }),
  {},
);

const Instant = z.iso.datetime();
export const ReplayWebhookRangeBody = z
  .strictObject({ from: Instant, to: Instant, status: z.optional(DeliveryStatus), cursor: z.optional(Cursor) })
  .check(
    z.refine((range) => Date.parse(range.from) <= Date.parse(range.to), 'from must not be after to'),
    z.refine(
      (range) => Date.parse(range.to) - Date.parse(range.from) <= MAX_REPLAY_RANGE_DAYS * 86_400_000,
      `a range spans at most ${MAX_REPLAY_RANGE_DAYS} days (the log keeps 30)`,
    ),
  );
