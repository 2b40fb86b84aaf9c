import { describe, expect, it } from 'vitest';
import { deliveryView, endpointView } from '../../../src/core/webhooks/views';
import { newDelivery, withAttempt, DEFAULT_RETRY_POLICY } from '../../../src/domain/webhook-delivery';
import { newEndpoint, withRotatedSecret } from '../../../src/domain/webhook-endpoint';
import { buildOpenApiDocument } from '../../../src/http/openapi';
import {
  WebhookDeliveryListSchema,
  WebhookEndpointSchema,
  WebhookEndpointWithSecretSchema,
} from '../../../src/http/webhook-response-schemas';

const now = new Date('2026-11-25T04:00:00.000Z');
const endpoint = newEndpoint(
  { endpointId: 'whe_0000000000000000000001', url: 'https://shop.example/hooks', sealedSecret: 'c2VhbGVk' },
  now,
);

describe('webhook response schemas against real views', () => {
  it('parse an endpoint, also mid-rotation, and never show a sealed secret', () => {
    const rotated = withRotatedSecret(endpoint, 'bmV3', new Date(now.getTime() + 60_000));
    for (const view of [endpointView(endpoint, now), endpointView(rotated, new Date(now.getTime() + 120_000))]) {
      expect(WebhookEndpointSchema.strict().parse(view)).toEqual(view);
      expect(JSON.stringify(view)).not.toContain('sealed');
    }
    expect(endpointView(rotated, new Date(now.getTime() + 120_000)).previousSecretExpiresAt).toBe(
      '2026-11-26T04:01:00.000Z',
    );
    expect(() =>
      WebhookEndpointWithSecretSchema.parse({ endpoint: endpointView(endpoint, now), secret: 'plain' }),
    ).toThrow();
  });

  it('parse a delivery with a failed attempt and its retry', () => {
    const delivery = newDelivery(
      {
        deliveryId: 'whd_20261125040000000_0123456789abcdef',
        endpointId: endpoint.endpointId,
        event: {
          id: 'ord_1:OrderCreated:1',
          type: 'OrderCreated',
          occurredAt: now.toISOString(),
          detail: { orderId: 'ord_1', customerId: 'cust_1' },
        },
      },
      now,
    );
    const failed = withAttempt(
      delivery,
      { at: now.toISOString(), trigger: 'event', statusCode: 503, latencyMs: 12, responseBody: 'down' },
      { now, policy: DEFAULT_RETRY_POLICY, random: 0.5 },
    );
    const list = { deliveries: [deliveryView(failed)] };
    expect(WebhookDeliveryListSchema.parse(list)).toEqual(list);
    expect(list.deliveries[0]!.nextAttemptAt).toBe('2026-11-25T04:00:05.000Z');
  });

  it('documents the deliveries query and the PATCH and DELETE routes', () => {
    const document = buildOpenApiDocument();
    const deliveries = document.paths['/api/admin/webhooks/{endpointId}/deliveries']!.get!;
    expect(deliveries.parameters?.map((parameter) => (parameter as { name: string }).name)).toEqual([
      'endpointId',
      'status',
      'cursor',
      'limit',
    ]);
    expect(Object.keys(document.paths['/api/admin/webhooks/{endpointId}']!).sort()).toEqual(['delete', 'patch']);
    expect(Object.keys(document.paths['/api/admin/webhooks/{endpointId}']!.delete!.responses)).toContain('409');
  });
});
