import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CheckoutStore, ProviderSimulator, SandboxResponse } from '../../local/sandbox/types';

/** What the stand-in does with one request. */
export type StandInAnswer =
  /** Reads the request and never answers. */
  | 'hang'
  /** Sends the status line and headers, then never finishes the body. */
  | 'stall'
  /** Closes the connection without a word. */
  | 'drop'
  /** The provider's own answer, from its sandbox simulator (real signatures). */
  | 'simulator'
  /** This answer, as given. */
  | SandboxResponse;

/** A provider's API on a real local HTTP port, misbehaving on demand, counting what reaches it. */
export interface ProviderStandIn {
  /** The provider's API base (`http://127.0.0.1:<port>/sandbox/<provider>`), as a merchant config names it. */
  baseUrl: string;
  /** Requests received so far. */
  readonly requests: number;
  /** The answers to the next requests, in order, the last one repeating; counting starts afresh. */
  answer(...answers: StandInAnswer[]): void;
  close(): Promise<void>;
}

export async function startProviderStandIn(
  simulator: ProviderSimulator,
  store: CheckoutStore,
  now: () => Date = () => new Date(),
): Promise<ProviderStandIn> {
  const basePath = `/sandbox/${simulator.name}`;
  let script: StandInAnswer[] = ['simulator'];
  let requests = 0;

  const server = createServer(
    (request, response) =>
      // http ignores a listener's promise: a failure surfaces as an unhandled rejection, failing the run.
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const answer = script.length > 1 ? script.shift()! : script[0]!;
        requests++;
        if (answer === 'hang') return;
        if (answer === 'drop') return void request.socket.destroy();
        if (answer === 'stall') {
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
          return void response.write('{"code_url":');
        }
        const url = new URL(request.url ?? '/', 'http://stand-in');
        const headers = Object.fromEntries(
          Object.entries(request.headers).map(([name, value]) => [
            name,
            Array.isArray(value) ? value.join(', ') : value,
          ]),
        );
        const sent =
          answer === 'simulator'
            ? await simulator.handle(
                {
                  method: request.method ?? 'GET',
                  path: url.pathname.slice(basePath.length),
                  query: url.searchParams,
                  headers,
                  body: Buffer.concat(chunks).toString('utf8'),
                },
                store,
                now(),
              )
            : answer;
        response.writeHead(sent.statusCode, sent.headers).end(sent.body);
      })(),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}${basePath}`,
    get requests() {
      return requests;
    },
    answer(...answers) {
      script = answers;
      requests = 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
