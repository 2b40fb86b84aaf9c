import { createPayUrl } from '../support/checkout-fixtures';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../../local/sandbox/server';
import type { Sandbox } from '../../local/sandbox/types';
import { generateWechatKeys } from '../../local/sandbox/wechat';
import { businessDateOf } from '../../src/domain/bill';
import type { PaymentProvider } from '../../src/core/payments/provider';
import { createWechatProvider } from '../../src/providers/wechat';

/**
 * The WeChat bill over real HTTP: the local sandbox behind a Node server that sends a binary answer
 * as the local runtime does, the merchant module on the global fetch. What the unit tests cannot
 * show: the download_url the sandbox hands out is where the runtime serves it, and the file's bytes
 * reach the merchant unchanged (its SHA1 holds).
 */

let server: Server;
let sandbox: Sandbox;
let wechat: PaymentProvider;

beforeAll(async () => {
  server = createServer(
    (request, response) =>
      // http ignores a listener's promise: a failure surfaces as an unhandled rejection, failing the run.
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const url = new URL(request.url ?? '/', 'http://sandbox.invalid');
        const headers = Object.fromEntries(
          Object.entries(request.headers).map(([name, value]) => [
            name,
            Array.isArray(value) ? value.join(', ') : value,
          ]),
        );
        const body = Buffer.concat(chunks).toString('utf8');
        const answer = await sandbox.handle({
          method: request.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers,
          body,
        });
        if (!answer) return void response.writeHead(404).end();
        response.writeHead(answer.statusCode, answer.headers).end(answer.bytes ?? answer.body);
      })(),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keys = generateWechatKeys(`${baseUrl}/sandbox/wechat`);
  sandbox = createSandbox({ keys: { wechat: keys.sandbox }, publicBaseUrl: baseUrl });
  wechat = createWechatProvider({ config: keys.merchant, fetch: globalThis.fetch });
});

afterAll(async () => {
  await sandbox?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

describe('wechat bill over HTTP from the local sandbox', () => {
  it("downloads today's bill with a paid order and a console refund, its SHA1 intact", async () => {
    const paymentId = 'pay_bill_over_http_000001';
    await createPayUrl(wechat, {
      payment: {
        paymentId,
        orderId: 'ord_1',
        amount: 12_800,
        currency: 'CNY',
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
        description: 'Tea set, green',
      },
      notifyUrl: 'http://127.0.0.1:9/merchant/callback/wechat',
      returnUrl: 'http://127.0.0.1:9/shop/return',
      now: new Date(),
    });
    await sandbox.decide(paymentId, 'pay', { notify: false });
    const consoleRefund = sandbox.refund(paymentId, 800, { notify: false });
    if (consoleRefund.result !== 'refunded') throw new Error(consoleRefund.message);

    const now = new Date();
    const fetched = await wechat.fetchBill({
      date: businessDateOf(new Date(sandbox.store.get(paymentId)?.paidAt ?? now)),
      now,
    });
    expect(fetched.status).toBe('ready');
    if (fetched.status !== 'ready') return;
    expect(fetched.bill.rows).toMatchObject([
      {
        kind: 'payment',
        paymentId,
        amount: 12_800,
        status: 'succeeded',
        providerTransactionId: sandbox.store.get(paymentId)?.transactionId,
      },
      {
        kind: 'refund',
        paymentId,
        amount: 800,
        status: 'succeeded',
        refundId: consoleRefund.refund.key,
        providerRefundId: consoleRefund.refund.key,
      },
    ]);
  });
});
