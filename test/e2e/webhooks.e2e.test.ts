import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Receiver, type ReceivedWebhook, startReceiver } from '../../local/webhooks/receiver';
import type { PaymentsClient } from '../../src/client/payments-client';
import { RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * Webhook delivery through `npm start` (issue 24): endpoints registered over the admin API, events
 * from real orders carried bus → webhook queue (fauxqs) → the deliverer → signed POSTs to real
 * receivers on this machine that verify with the Standard Webhooks library, with a short retry
 * schedule so that retries happen within a test.
 */

const ITEMS = [{ sku: 'PEN-BRUSH', quantity: 1 }];
const SETTLE = { timeout: 20_000, interval: 100 };
const ATTEMPT_TIMEOUT_MS = 1_500;

let env: TestRuntime;
let client: PaymentsClient;
let adminToken: string;
const receivers: Receiver[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  env = await startTestRuntime({
    WEBHOOK_RETRY_SCHEDULE_SECONDS: '1,1,2',
    WEBHOOK_TIMEOUT_MS: String(ATTEMPT_TIMEOUT_MS),
    WEBHOOK_ORDER_HOLD_MS: '200',
  });
  client = await env.clientFor('webhook-customer');
  adminToken = await env.tokenFor('shop-staff', true);
}, RUNTIME_START_TIMEOUT_MS);

afterAll(async () => {
  for (const receiver of receivers) await receiver.stop();
  for (const server of servers) server.closeAllConnections();
  await env?.stop();
});

async function admin<T = Record<string, any>>( // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers
  method: string,
  path: string,
  body?: unknown,
  token = adminToken,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${env.runtime.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** A receiver registered as an endpoint, knowing its secret. */
async function registeredReceiver(options: Parameters<typeof startReceiver>[0] = {}, events?: string[]) {
  const receiver = await startReceiver(options);
  receivers.push(receiver);
  const created = await admin('POST', '/api/admin/webhooks', { url: receiver.url, ...(events ? { events } : {}) });
  expect(created.status).toBe(201);
  receiver.setSecrets([created.body.secret as string]);
  return { receiver, endpointId: created.body.endpoint.endpointId as string, secret: created.body.secret as string };
}

const ofOrder = (orderId: string, type: string) => (received: ReceivedWebhook) =>
  received.event?.type === type && received.event.data.orderId === orderId;

async function deliveriesOf(endpointId: string, query = '') {
  const { status, body } = await admin('GET', `/api/admin/webhooks/${endpointId}/deliveries${query}`);
  expect(status).toBe(200);
  return body.deliveries as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
}

describe('webhook endpoints over the admin API', () => {
  it('registers an endpoint (the secret shown once as whsec_…), lists it without the secret, patches, deletes', async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);

    const created = await admin('POST', '/api/admin/webhooks', {
      url: receiver.url,
      events: ['OrderPaid', 'RefundSucceeded'],
      description: 'shop backend',
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const { endpointId } = created.body.endpoint;

    const listed = await admin('GET', '/api/admin/webhooks');
    const mine = listed.body.endpoints.find((endpoint: { endpointId: string }) => endpoint.endpointId === endpointId);
    expect(mine).toMatchObject({ url: receiver.url, events: ['OrderPaid', 'RefundSucceeded'], enabled: true });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret.slice(6, 20));

    const patched = await admin('PATCH', `/api/admin/webhooks/${endpointId}`, { enabled: false, events: ['*'] });
    expect(patched.body.endpoint).toMatchObject({
      enabled: false,
      events: ['*'],
      disabledReason: 'disabled by an administrator',
    });

    expect((await admin('DELETE', `/api/admin/webhooks/${endpointId}`)).body).toEqual({ endpointId, deleted: true });
    const afterDelete = await admin('PATCH', `/api/admin/webhooks/${endpointId}`, { enabled: true });
    expect(afterDelete).toMatchObject({ status: 404, body: { error: { code: 'WEBHOOK_ENDPOINT_NOT_FOUND' } } });
  });

  it('refuses a customer token, a private address, the metadata service and credentials in the URL', async () => {
    const customer = await admin(
      'POST',
      '/api/admin/webhooks',
      { url: 'http://127.0.0.1:9/x' },
      await env.tokenFor('c1'),
    );
    expect(customer.status).toBe(403);

    for (const url of [
      'http://10.1.2.3/hooks',
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:192.168.0.1]/hooks',
      'http://0xa9fea9fe/hooks',
      'http://user:pw@127.0.0.1:9/hooks',
    ]) {
      const refused = await admin('POST', '/api/admin/webhooks', { url });
      expect(refused.status, url).toBe(400);
      expect(refused.body.error.code, url).toBe('WEBHOOK_URL_REFUSED');
    }
    expect(
      (await admin('GET', '/api/admin/webhooks')).body.endpoints.some((endpoint: { url: string }) =>
        endpoint.url.includes('10.1.2.3'),
      ),
    ).toBe(false);
  });
});

describe('delivery', () => {
  it('retries an endpoint that fails twice: accepted once, the same webhook-id on every attempt, every attempt logged', async () => {
    const { receiver, endpointId } = await registeredReceiver({ failFirst: 2 }, ['OrderCreated']);

    const { order } = await client.createOrder(ITEMS);
    const accepted = await receiver.waitFor(
      (received) => ofOrder(order.orderId, 'OrderCreated')(received) && received.status === 204,
    );

    const attempts = receiver.received.filter(ofOrder(order.orderId, 'OrderCreated'));
    expect(attempts.map((received) => received.status)).toEqual([503, 503, 204]);
    expect(new Set(attempts.map((received) => received.webhookId))).toEqual(new Set([accepted.webhookId]));
    expect(attempts.every((received) => received.verified)).toBe(true);
    expect(accepted.event).toMatchObject({ type: 'OrderCreated', id: accepted.webhookId });

    await vi.waitFor(async () => {
      const [delivery] = await deliveriesOf(endpointId);
      expect(delivery).toMatchObject({ eventId: accepted.webhookId, status: 'delivered', attemptCount: 3 });
      expect(
        delivery!.attempts.map((attempt: { statusCode: number; trigger: string }) => [
          attempt.trigger,
          attempt.statusCode,
        ]),
      ).toEqual([
        ['event', 503],
        ['retry', 503],
        ['retry', 204],
      ]);
      expect(delivery!.attempts[0].responseBody).toBe('not now');
    }, SETTLE);
    await admin('DELETE', `/api/admin/webhooks/${endpointId}`);
  });

  it('does not hold one endpoint back while another hangs past the attempt timeout', async () => {
    let hungAt = 0;
    const hanging = createServer(() => {
      hungAt = Date.now(); // never answers
    });
    servers.push(hanging);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const down = await admin('POST', '/api/admin/webhooks', {
      url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hooks`,
      events: ['OrderCreated'],
    });
    const { receiver, endpointId } = await registeredReceiver({}, ['OrderCreated']);

    const { order } = await client.createOrder(ITEMS);
    const received = await receiver.waitFor(ofOrder(order.orderId, 'OrderCreated'));

    // The healthy endpoint had its event before the hanging one's attempt could even time out (the
    // deliverer may reach either endpoint first, so wait for the hanging one to be connected to).
    await vi.waitFor(() => expect(hungAt).toBeGreaterThan(0), SETTLE);
    expect(received.receivedAt).toBeLessThan(hungAt + ATTEMPT_TIMEOUT_MS);
    await vi.waitFor(async () => {
      const [delivery] = await deliveriesOf(down.body.endpoint.endpointId);
      expect(delivery?.attempts[0]).toMatchObject({ error: `timed out after ${ATTEMPT_TIMEOUT_MS} ms` });
    }, SETTLE);
    await admin('DELETE', `/api/admin/webhooks/${down.body.endpoint.endpointId}`);
    await admin('DELETE', `/api/admin/webhooks/${endpointId}`);
  });

  it('signs with both secrets for a day after a rotation: the old and the new one each verify, with svix too', async () => {
    const { receiver, endpointId, secret: oldSecret } = await registeredReceiver({}, ['OrderCreated']);

    const rotated = await admin('POST', `/api/admin/webhooks/${endpointId}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).not.toBe(oldSecret);
    expect(Date.parse(rotated.body.endpoint.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    receiver.setSecrets([newSecret]);

    const { order } = await client.createOrder(ITEMS);
    const received = await receiver.waitFor(ofOrder(order.orderId, 'OrderCreated'));

    expect(received.signature.split(' ')).toHaveLength(2);
    const headers = {
      'webhook-id': received.webhookId,
      'webhook-timestamp': received.timestamp,
      'webhook-signature': received.signature,
    };
    for (const secret of [oldSecret, newSecret]) {
      expect(new StandardWebhook(secret).verify(received.body, headers)).toMatchObject({ type: 'OrderCreated' });
      // svix's verify answers nothing and throws on a bad signature.
      expect(() => new SvixWebhook(secret).verify(received.body, headers)).not.toThrow();
    }
    expect(() =>
      new SvixWebhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(received.body, headers),
    ).toThrow();
    await admin('DELETE', `/api/admin/webhooks/${endpointId}`);
  });

  it('replays a time range after an outage: every event again, oldest first, with its webhook-id', async () => {
    const { receiver, endpointId } = await registeredReceiver({}, ['OrderCreated', 'OrderCancelled']);
    const from = new Date(Date.now() - 1000).toISOString();
    const { order } = await client.createOrder(ITEMS);
    await client.cancelOrder(order.orderId);
    await receiver.waitFor(ofOrder(order.orderId, 'OrderCancelled'));
    const firstRound = receiver.received.filter((received) => received.event?.data.orderId === order.orderId);
    expect(firstRound.map((received) => received.event?.type)).toEqual(['OrderCreated', 'OrderCancelled']);

    const replay = await admin('POST', `/api/admin/webhooks/${endpointId}/replay`, {
      from,
      to: new Date(Date.now() + 1000).toISOString(),
    });
    expect(replay).toEqual({ status: 202, body: { queued: 2 } });

    await vi.waitFor(() => {
      expect(receiver.received.filter((received) => received.event?.data.orderId === order.orderId)).toHaveLength(4);
    }, SETTLE);
    const again = receiver.received.filter((received) => received.event?.data.orderId === order.orderId).slice(2);
    expect(new Set(again.map((received) => received.webhookId))).toEqual(
      new Set(firstRound.map((received) => received.webhookId)),
    );
    await vi.waitFor(async () => {
      const deliveries = await deliveriesOf(endpointId);
      expect(
        deliveries.map((delivery) => delivery.attempts.map((attempt: { trigger: string }) => attempt.trigger)),
      ).toEqual([
        ['event', 'replay'],
        ['event', 'replay'],
      ]);
    }, SETTLE);

    const [latest] = await deliveriesOf(endpointId);
    const one = await admin('POST', `/api/admin/webhooks/${endpointId}/deliveries/${latest!.deliveryId}/replay`);
    expect(one.status).toBe(202);
    await vi.waitFor(() => {
      expect(receiver.received.filter((received) => received.webhookId === latest!.eventId)).toHaveLength(3);
    }, SETTLE);
    await admin('DELETE', `/api/admin/webhooks/${endpointId}`);
  });

  it('disables an endpoint that answers 410 Gone, says why, and sends it nothing more', async () => {
    const { receiver, endpointId } = await registeredReceiver({ respond: () => 410 }, ['OrderCreated']);

    const first = await client.createOrder(ITEMS);
    await receiver.waitFor(ofOrder(first.order.orderId, 'OrderCreated'));
    await vi.waitFor(async () => {
      const endpoint = (await admin('GET', '/api/admin/webhooks')).body.endpoints.find(
        (candidate: { endpointId: string }) => candidate.endpointId === endpointId,
      );
      expect(endpoint).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410 Gone') });
    }, SETTLE);
    const [delivery] = await deliveriesOf(endpointId);
    expect(delivery).toMatchObject({ status: 'failed', finalReason: expect.stringContaining('410') });
    expect(delivery!.nextAttemptAt).toBeUndefined();

    // A witness endpoint takes the next event: the same message finds the disabled endpoint and skips it.
    const witness = await registeredReceiver({}, ['OrderCreated']);
    const second = await client.createOrder(ITEMS);
    await witness.receiver.waitFor(ofOrder(second.order.orderId, 'OrderCreated'));
    expect(receiver.received.filter(ofOrder(second.order.orderId, 'OrderCreated'))).toEqual([]);
    const replay = await admin('POST', `/api/admin/webhooks/${endpointId}/deliveries/${delivery!.deliveryId}/replay`);
    expect(replay).toMatchObject({ status: 409, body: { error: { code: 'WEBHOOK_ENDPOINT_DISABLED' } } });
    await admin('DELETE', `/api/admin/webhooks/${witness.endpointId}`);
  });
});
