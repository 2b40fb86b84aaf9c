import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from '../../local/webhooks/receiver';
import { RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from './local-runtime';

/**
 * The local console's webhook page in Debian's Chromium: a shop endpoint that failed once, then
 * took the event; the page shows the endpoint, the delivery and both attempts, and its Replay
 * button sends the event again with the same webhook-id.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

describe.skipIf(!hasChromium)('the webhook console page', () => {
  let env: TestRuntime;
  let browser: BrowserContext;
  let profileDir: string;
  let receiver: Receiver;

  beforeAll(async () => {
    profileDir = await mkdtemp(path.join(tmpdir(), 'payments-chromium-'));
    [env, browser, receiver] = await Promise.all([
      startTestRuntime({ WEBHOOK_RETRY_SCHEDULE_SECONDS: '1', WEBHOOK_ORDER_HOLD_MS: '100' }),
      chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
      }),
      startReceiver({ failFirst: 1 }),
    ]);
  }, RUNTIME_START_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await receiver?.stop();
    await env?.stop();
    await rm(profileDir, { recursive: true, force: true });
  });

  it('lists the endpoint, the delivery with each attempt, and replays it from its button', async () => {
    const token = await env.tokenFor('staff', true);
    const created = (await (
      await fetch(`${env.runtime.baseUrl}/api/admin/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: receiver.url, events: ['OrderCreated'] }),
      })
    ).json()) as { endpoint: { endpointId: string }; secret: string };
    receiver.setSecrets([created.secret]);
    const client = await env.clientFor('console-customer');
    const { order } = await client.createOrder([{ sku: 'PEN-BRUSH', quantity: 1 }]);
    const accepted = await receiver.waitFor((received) => received.status === 204);

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${env.runtime.baseUrl}/_local/webhooks`);
    const panel = page.locator(`[data-endpoint="${created.endpoint.endpointId}"]`);
    await expect.poll(() => panel.locator('h2').textContent(), { timeout: 10_000 }).toBe(receiver.url);
    const row = panel.locator('tr[data-delivery]');
    await expect.poll(() => row.locator('.status').textContent(), { timeout: 10_000 }).toBe('delivered');
    expect(await row.textContent()).toContain(order.orderId);
    expect(await row.textContent()).toContain('2 attempt(s)');
    const attempts = await panel.locator('tr.attempts').allTextContents();
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toContain('event');
    expect(attempts[0]).toContain('503');
    expect(attempts[1]).toContain('retry');
    expect(attempts[1]).toContain('204');

    await row.locator('button[data-replay]').click();
    await receiver.waitFor(
      (received) => received.webhookId === accepted.webhookId && received.status === 204 && received !== accepted,
    );
    await expect
      .poll(async () => (await panel.locator('tr.attempts').allTextContents()).at(-1), { timeout: 10_000 })
      .toContain('replay');
    expect(errors).toEqual([]);
  });
});
