import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A shop's webhook receiver, as a shop would write one with the Standard Webhooks library: every
 * request verified (any one of the secrets), answered 2xx, or failed on purpose (`failFirst`: the
 * first N requests of each webhook-id answer 503, to watch retries). Behind `npm run
 * webhooks:listen` and the tests.
 */
export interface ReceivedWebhook {
  webhookId: string;
  timestamp: string;
  signature: string;
  body: string;
  /** Whether the signature verified with a secret known then. */
  verified: boolean;
  /** Why it did not, when it did not. */
  verifyError?: string;
  /** What we answered. */
  status: number;
  receivedAt: number;
  event?: { type: string; id: string; timestamp: string; data: Record<string, unknown> };
}

export interface ReceiverOptions {
  port?: number;
  host?: string;
  /** The first N requests of each webhook-id fail with 503. */
  failFirst?: number;
  /** Answers as `respond` says even when the signature does not verify (401 otherwise): a test on a clock of its own. */
  acceptUnverified?: boolean;
  /** Decides the status of a request (after failFirst); 204 otherwise. */
  respond?: (received: ReceivedWebhook) => number | Promise<number>;
  onReceived?: (received: ReceivedWebhook) => void;
}

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  /** The secrets a request may be signed with (a rotation's overlap: both). */
  setSecrets(secrets: readonly string[]): void;
  /** The first request that matches, waiting up to `timeoutMs`. */
  waitFor(match: (received: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  stop(): Promise<void>;
}

const MAX_BODY = 256 * 1024;

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  let verifiers: Webhook[] = [];
  const received: ReceivedWebhook[] = [];
  const seen = new Map<string, number>();
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    void handle(request, { verifiers, seen, options })
      .then((entry) => {
        received.push(entry);
        options.onReceived?.(entry);
        for (const wake of waiters) wake();
        response.writeHead(entry.status, { 'content-type': 'text/plain' }).end(entry.status < 300 ? '' : 'not now');
      })
      .catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/webhooks`,
    received,
    setSecrets(secrets) {
      verifiers = secrets.map((secret) => new Webhook(secret));
    },
    waitFor(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = received.find(match);
          if (!found) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching webhook within ${timeoutMs} ms (${received.length} received)`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One request: read, verified, counted, answered as the options say. */
async function handle(
  request: IncomingMessage,
  state: { verifiers: readonly Webhook[]; seen: Map<string, number>; options: ReceiverOptions },
): Promise<ReceivedWebhook> {
  const body = await readBody(request);
  const header = (name: string) => String(request.headers[name] ?? '');
  const entry: ReceivedWebhook = {
    webhookId: header('webhook-id'),
    timestamp: header('webhook-timestamp'),
    signature: header('webhook-signature'),
    body,
    verified: false,
    status: 204,
    receivedAt: Date.now(),
  };
  verify(entry, state.verifiers, request);
  const count = (state.seen.get(entry.webhookId) ?? 0) + 1;
  state.seen.set(entry.webhookId, count);
  if (!entry.verified && !state.options.acceptUnverified) entry.status = 401;
  else if (count <= (state.options.failFirst ?? 0)) entry.status = 503;
  else entry.status = (await state.options.respond?.(entry)) ?? 204;
  return entry;
}

function verify(entry: ReceivedWebhook, verifiers: readonly Webhook[], request: IncomingMessage): void {
  const headers = {
    'webhook-id': entry.webhookId,
    'webhook-timestamp': entry.timestamp,
    'webhook-signature': entry.signature,
  };
  for (const verifier of verifiers) {
    try {
      entry.event = verifier.verify(entry.body, headers) as ReceivedWebhook['event'];
      entry.verified = true;
      return;
    } catch (error) {
      entry.verifyError = (error as Error).message;
    }
  }
  entry.verifyError ??= `no secret to verify with (${request.url})`;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
