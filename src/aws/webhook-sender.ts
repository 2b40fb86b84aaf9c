import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { WebhookRequest, WebhookResponse, WebhookSender } from '../core/webhooks/ports';
import {
  addressRefusal,
  ipLiteralOf,
  parseWebhookUrl,
  STRICT_NETWORK_POLICY,
  type WebhookNetworkPolicy,
} from '../domain/webhook-address';
import { RESPONSE_EXCERPT_BYTES } from '../domain/webhook-delivery';
import { WebhookUrlRefusedError } from '../domain/webhook-errors';

/** An answer is read this far and no further. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** Names to addresses (node:dns by default; tests answer as a rebinding DNS server would). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface WebhookSenderOptions {
  policy?: WebhookNetworkPolicy;
  resolve?: Resolver;
}

/**
 * Outbound HTTP to shop endpoints with the SSRF rules of src/domain/webhook-address.ts. A host name
 * is resolved here, every address it has is checked, and the connection is made to an address
 * that was checked (the request's own `lookup`), so a DNS answer that changes between the check
 * and the connection (rebinding) cannot send us elsewhere; the socket's remote address is checked
 * once more when it connects. No redirect is followed, no proxy is used, and each attempt reads at
 * most MAX_RESPONSE_BYTES within its timeout. The policy is fixed when the sender is made: in AWS
 * the strict one, whatever the environment says.
 */
export function webhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const policy = options.policy ?? STRICT_NETWORK_POLICY;
  const resolve = options.resolve ?? systemResolver;
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 16 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 16 }),
  };
  const checkedAddresses = async (hostname: string): Promise<LookupAddress[]> => {
    let addresses: LookupAddress[];
    try {
      addresses = await resolve(hostname);
    } catch (error) {
      throw new WebhookUrlRefusedError(
        `host ${hostname} does not resolve (${(error as { code?: string }).code ?? error})`,
      );
    }
    if (addresses.length === 0) throw new WebhookUrlRefusedError(`host ${hostname} does not resolve`);
    for (const { address } of addresses) {
      const refusal = addressRefusal(address, policy);
      if (refusal) throw new WebhookUrlRefusedError(`host ${hostname} resolves to a forbidden address: ${refusal}`);
    }
    return addresses;
  };
  return {
    async checkDestination(raw) {
      const url = parseWebhookUrl(raw, policy);
      if (ipLiteralOf(url.hostname) === undefined) await checkedAddresses(url.hostname);
      return url.href;
    },
    post: (request) => post(request, { policy, checkedAddresses, agents }),
  };
}

interface PostContext {
  policy: WebhookNetworkPolicy;
  checkedAddresses: (hostname: string) => Promise<LookupAddress[]>;
  agents: Record<'http:' | 'https:', http.Agent>;
}

async function post(request: WebhookRequest, context: PostContext): Promise<WebhookResponse> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  let url: URL;
  try {
    url = parseWebhookUrl(request.url, context.policy);
  } catch (error) {
    return { latencyMs: 0, error: `refused: the URL ${(error as WebhookUrlRefusedError).reason}` };
  }
  try {
    const { statusCode, body, location } = await exchange(url, request, context);
    const redirect = statusCode >= 300 && statusCode < 400;
    return {
      statusCode,
      latencyMs: latencyMs(),
      ...(body ? { body } : {}),
      ...(redirect
        ? { error: `redirects are not followed${location ? ` (Location: ${location.slice(0, 200)})` : ''}` }
        : {}),
    };
  } catch (error) {
    return { latencyMs: latencyMs(), error: describeFailure(error, request.timeoutMs) };
  }
}

/** One POST: the status, the first RESPONSE_EXCERPT_BYTES of the body (read up to MAX_RESPONSE_BYTES), the Location of a redirect. */
function exchange(
  url: URL,
  request: WebhookRequest,
  context: PostContext,
): Promise<{ statusCode: number; body: string; location?: string }> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const outgoing = transport.request(url, {
      method: 'POST',
      headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
      agent: context.agents[url.protocol as 'http:' | 'https:'],
      lookup: checkedLookup(context.checkedAddresses),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    outgoing.on('socket', (socket: Socket) => {
      const checkPeer = () => {
        const refusal = socket.remoteAddress ? addressRefusal(socket.remoteAddress, context.policy) : 'no address';
        if (refusal) outgoing.destroy(new WebhookUrlRefusedError(`connected to a forbidden address: ${refusal}`));
      };
      // A kept-alive socket is connected already (and was checked when it connected): no listener piles up on it.
      if (socket.connecting) socket.once('connect', checkPeer);
      else checkPeer();
    });
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      let read = 0;
      const done = () =>
        resolve({
          statusCode: response.statusCode ?? 0,
          body: Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8'),
          location: response.headers.location,
        });
      response.on('data', (chunk: Buffer) => {
        if (read < RESPONSE_EXCERPT_BYTES) chunks.push(chunk);
        read += chunk.length;
        // Past the bound the rest is not read: the status is what counts.
        if (read >= MAX_RESPONSE_BYTES) response.destroy();
      });
      response.on('end', done);
      response.on('close', done);
      // The status came: a body cut short by the timeout is still an answer.
      response.on('error', done);
    });
    outgoing.end(request.body);
  });
}

/** The request's `lookup`: the addresses checkedAddresses let through, in the form net.connect asks for. */
function checkedLookup(checkedAddresses: (hostname: string) => Promise<LookupAddress[]>) {
  return (
    hostname: string,
    options: { all?: boolean },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    checkedAddresses(hostname).then(
      (addresses) =>
        options.all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family),
      (error: Error) => callback(error, []),
    );
  };
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof WebhookUrlRefusedError) return `refused: ${error.reason}`;
  const { name, code, message } = error as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError' || name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host not found',
    EPIPE: 'connection closed while sending',
  };
  if (code && known[code]) return `${known[code]} (${code})`;
  return code ? `${code}: ${message ?? ''}`.trim() : (message ?? String(error));
}

/** A function's `webhookSender` capability (wiring.ts): the strict policy, which no variable can relax. */
export function awsWebhookSender(_env: NodeJS.ProcessEnv): WebhookSender {
  return webhookSender({ policy: STRICT_NETWORK_POLICY });
}
