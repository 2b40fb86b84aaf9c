import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES, type Resolver, webhookSender } from '../../../src/aws/webhook-sender';
import { WebhookUrlRefusedError } from '../../../src/domain/webhook-errors';

/**
 * The sender's network rules against real sockets on this machine (src/aws/webhook-sender.ts):
 * DNS answers are the test's own resolver, as a rebinding DNS server would give them; the
 * receivers are loopback servers, reachable only where the policy lets loopback through.
 */
const LOCAL = { allowHttp: true, allowLoopback: true };
const NO_LOOPBACK = { allowHttp: true, allowLoopback: false };
const PUBLIC: LookupAddress = { address: '93.184.215.14', family: 4 };
const LOOPBACK: LookupAddress = { address: '127.0.0.1', family: 4 };

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function receiver(handle: (request: IncomingMessage, response: ServerResponse) => void) {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    handle(request, response);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, requests };
}

/** Answers each lookup with the next answer (the last one repeating), counting the lookups. */
function changingDns(...answers: LookupAddress[][]): Resolver & { calls: number } {
  const resolve = Object.assign(async () => answers[Math.min(resolve.calls++, answers.length - 1)]!, { calls: 0 });
  return resolve;
}

const post = (url: string) => ({ url, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 500 });

describe('webhookSender: where it connects', () => {
  it('refuses at delivery a host whose DNS answer changed to loopback since registration (rebinding), sending nothing', async () => {
    const shop = await receiver((_request, response) => response.writeHead(204).end());
    const dns = changingDns([PUBLIC], [LOOPBACK]);
    const sender = webhookSender({ policy: NO_LOOPBACK, resolve: dns });

    await expect(sender.checkDestination(`http://shop.example:${shop.port}/hooks`)).resolves.toBe(
      `http://shop.example:${shop.port}/hooks`,
    );
    const response = await sender.post(post(`http://shop.example:${shop.port}/hooks`));

    expect(response.statusCode).toBeUndefined();
    expect(response.error).toBe(
      'refused: host shop.example resolves to a forbidden address: 127.0.0.1 is a loopback address',
    );
    expect(shop.requests).toEqual([]);
  });

  it('connects to the very address it checked: one DNS answer per connection, used for both', async () => {
    const shop = await receiver((_request, response) => response.writeHead(204).end());
    const dns = changingDns([LOOPBACK], [{ address: '10.0.0.7', family: 4 }]);
    const sender = webhookSender({ policy: LOCAL, resolve: dns });

    const response = await sender.post(post(`http://shop.example:${shop.port}/hooks`));

    expect(response.statusCode).toBe(204);
    expect(dns.calls).toBe(1);
    expect(shop.requests).toEqual(['POST /hooks']);
  });

  it('refuses a name with any forbidden address among its answers, IPv6 and IPv4-mapped forms included', async () => {
    for (const answer of [
      [PUBLIC, { address: '10.1.2.3', family: 4 }],
      [{ address: '::ffff:169.254.169.254', family: 6 }],
      [{ address: 'fd00:ec2::254', family: 6 }],
      [{ address: '100.100.100.200', family: 4 }],
      [{ address: 'fe80::1', family: 6 }],
      [{ address: '224.0.0.1', family: 4 }],
    ]) {
      const sender = webhookSender({ policy: NO_LOOPBACK, resolve: changingDns(answer) });
      await expect(
        sender.checkDestination('https://shop.example/hooks'),
        JSON.stringify(answer),
      ).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    }
  });

  it('refuses IP spellings of forbidden addresses without asking DNS: decimal, hex, octal, short forms, bracketed IPv6', async () => {
    const dns = changingDns([PUBLIC]);
    const sender = webhookSender({ policy: NO_LOOPBACK, resolve: dns });
    for (const url of [
      'http://2130706433/',
      'http://0x7f000001/',
      'http://0177.0.0.1/',
      'http://127.1/',
      'http://0xa9.0xfe.0xa9.0xfe/',
      'http://[::1]/',
      'http://[::ffff:7f00:1]/',
      'http://[0:0:0:0:0:ffff:a00:1]/',
    ]) {
      await expect(sender.checkDestination(url), url).rejects.toThrow(/forbidden address/);
    }
    expect(dns.calls).toBe(0);
  });

  it('refuses a host that does not resolve, saying so', async () => {
    const sender = webhookSender({
      policy: NO_LOOPBACK,
      resolve: async () => {
        throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
      },
    });
    await expect(sender.checkDestination('https://nowhere.example/')).rejects.toThrow(
      'host nowhere.example does not resolve (ENOTFOUND)',
    );
  });
});

describe('webhookSender: what it reads', () => {
  it('does not follow a redirect: the 3xx is the answer, recorded as a failure naming where it pointed', async () => {
    const shop = await receiver((_request, response) =>
      response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end(),
    );
    const sender = webhookSender({ policy: LOCAL, resolve: changingDns([LOOPBACK]) });

    const response = await sender.post(post(`http://shop.example:${shop.port}/hooks`));

    expect(response).toMatchObject({
      statusCode: 302,
      error: 'redirects are not followed (Location: http://169.254.169.254/latest/meta-data)',
    });
    expect(shop.requests).toEqual(['POST /hooks']);
  });

  it('keeps the first 1 KB of an answer and stops reading at 64 KB', async () => {
    let written = 0;
    const shop = await receiver((_request, response) => {
      response.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 'a');
      const more = () => {
        while (written < 4 * 1024 * 1024) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
    });
    const sender = webhookSender({ policy: LOCAL, resolve: changingDns([LOOPBACK]) });

    const response = await sender.post({ ...post(`http://shop.example:${shop.port}/hooks`), timeoutMs: 5_000 });

    expect(response.statusCode).toBe(200);
    expect(response.body).toHaveLength(1024);
    // Far less than the 4 MB offered was sent before we hung up (socket buffers hold a few hundred KB).
    expect(written).toBeLessThan(4 * 1024 * 1024);
    expect(MAX_RESPONSE_BYTES).toBe(64 * 1024);
  });

  it('gives up on an endpoint that does not answer within the timeout', async () => {
    const shop = await receiver(() => undefined);
    const sender = webhookSender({ policy: LOCAL, resolve: changingDns([LOOPBACK]) });

    const response = await sender.post({ ...post(`http://shop.example:${shop.port}/hooks`), timeoutMs: 200 });

    expect(response).toMatchObject({ error: 'timed out after 200 ms' });
    expect(response.statusCode).toBeUndefined();
  });

  it('reports a refused connection as such', async () => {
    const shop = await receiver(() => undefined);
    servers[0]!.close();
    const sender = webhookSender({ policy: LOCAL, resolve: changingDns([LOOPBACK]) });

    const response = await sender.post(post(`http://shop.example:${shop.port}/hooks`));

    expect(response.error).toBe('connection refused (ECONNREFUSED)');
  });

  it('refuses plain http under the strict policy before any lookup', async () => {
    const dns = changingDns([PUBLIC]);
    const response = await webhookSender({ resolve: dns }).post(post('http://shop.example/hooks'));
    expect(response.error).toBe('refused: the URL must use https:');
    expect(dns.calls).toBe(0);
  });
});
