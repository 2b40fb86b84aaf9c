import { ADMIN_SCOPE } from '../../src/http/routes';
import { loadOrCreateDevIssuer } from '../dev-jwt';
import { localBaseUrl, localDataDir, localPort } from '../settings';
import { type ReceivedWebhook, startReceiver } from './receiver';

/**
 * `npm run webhooks:listen [-- --port 4000] [--fail-first N] [--events A,B]`: a receiver like
 * `stripe listen`. It registers itself with the running `npm start` (an admin token from the dev
 * issuer), verifies every request with the Standard Webhooks library and the secret it was given,
 * prints each event, and removes its endpoint on Ctrl-C. `--fail-first N` answers 503 to the
 * first N attempts of each event, to watch the retries.
 */
function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

function parseArgs(args: string[]) {
  const port = Number(option(args, '--port') ?? 4000);
  const failFirst = Number(option(args, '--fail-first') ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error('--port must be a port number');
  if (!Number.isInteger(failFirst) || failFirst < 0) throw new Error('--fail-first must be a whole number');
  const events = option(args, '--events')?.split(',').filter(Boolean);
  return { port, failFirst, events };
}

function line(received: ReceivedWebhook): string {
  const time = new Date(received.receivedAt).toISOString().slice(11, 23);
  const verdict = received.verified ? 'verified' : `NOT VERIFIED (${received.verifyError})`;
  const data = received.event?.data ?? {};
  const subject = String(data.refundId ?? data.paymentId ?? data.orderId ?? '');
  return `${time}  ${String(received.event?.type ?? '?').padEnd(22)} ${subject.padEnd(32)} ${received.webhookId}  ${verdict} → ${received.status}`;
}

async function main() {
  const { port, failFirst, events } = parseArgs(process.argv.slice(2));
  const baseUrl = localBaseUrl(localPort());
  const issuer = await loadOrCreateDevIssuer(localDataDir(), baseUrl);
  const token = await issuer.sign({ sub: 'webhooks-listen', scope: ADMIN_SCOPE });
  const receiver = await startReceiver({ port, failFirst, onReceived: (received) => console.log(line(received)) });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = (await response.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the API's JSON
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(answer)}`);
    return answer;
  };
  let created: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the API's JSON
  try {
    created = await call('POST', '/api/admin/webhooks', {
      url: receiver.url,
      description: 'npm run webhooks:listen',
      ...(events ? { events } : {}),
    });
  } catch (error) {
    await receiver.stop();
    throw new Error(`could not register with ${baseUrl} (is npm start running?): ${(error as Error).message}`, {
      cause: error,
    });
  }
  receiver.setSecrets([created.secret as string]);
  const endpointId = created.endpoint.endpointId as string;
  console.log(`Listening on ${receiver.url} as webhook endpoint ${endpointId}
  secret        ${created.secret}  (verify with any Standard Webhooks library)
  events        ${(created.endpoint.events as string[]).join(', ')}${failFirst ? `\n  failing       the first ${failFirst} attempt(s) of each event with 503` : ''}
  Ctrl-C removes the endpoint and stops.
`);
  const stop = async () => {
    await call('DELETE', `/api/admin/webhooks/${endpointId}`).catch((error: Error) => console.error(error.message));
    await receiver.stop();
    const verified = receiver.received.filter((received) => received.verified).length;
    console.log(`\n${receiver.received.length} request(s), ${verified} verified; endpoint ${endpointId} removed.`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: Error) => {
  console.error(`webhooks:listen: ${error.message}`);
  process.exit(1);
});
