import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The load generator of the create-order figures, in a process of its own so that it does not
 * share the runtime's event loop (as a shop's traffic would not): `POST /api/orders` with a fresh
 * Idempotency-Key each, the customers' tokens in turn. Prints autocannon's figures as JSON.
 * Usage (from bench/run.ts): node --import tsx bench/load.ts <settings.json>
 */
interface LoadSettings {
  url: string;
  connections: number;
  seconds: number;
  tokens: string[];
  body: string;
}

const settings = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSettings;
let next = 0;
const result = await autocannon({
  url: settings.url,
  connections: settings.connections,
  duration: settings.seconds,
  requests: [
    {
      method: 'POST',
      setupRequest: (request) => ({
        ...request,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${settings.tokens[next++ % settings.tokens.length]}`,
          'idempotency-key': `bench-${randomUUID()}`,
        },
        body: settings.body,
      }),
    },
  ],
});
console.log(
  JSON.stringify({
    rate: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  }),
);
