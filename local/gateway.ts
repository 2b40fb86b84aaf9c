import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** A request as the gateway's routes see it. */
export interface GatewayRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: Buffer;
  sourceIp: string;
}

export interface GatewayAnswer {
  statusCode: number;
  body: string | Buffer;
  /** Default: JSON. */
  headers?: Record<string, string>;
}

/** One of the gateway's own routes: `path` exactly, or every path that starts with it (`prefix`); any method unless `method`. */
export interface GatewayRoute {
  path: string;
  prefix?: boolean;
  method?: 'GET' | 'POST';
  /** Undefined: not this route's after all; the next one is tried. */
  answer(request: GatewayRequest): Promise<GatewayAnswer | undefined>;
}

export interface Gateway {
  /** Starts answering: the first of `routes` that answers, else `api`. Until then every request is 503 (starting). */
  serve(routes: readonly GatewayRoute[], api: (request: GatewayRequest) => Promise<GatewayAnswer>): void;
  stop(): Promise<void>;
}

export const jsonAnswer = (statusCode: number, payload: unknown): GatewayAnswer => ({
  statusCode,
  body: JSON.stringify(payload),
});

/**
 * The local runtime's HTTP server. It listens before anything else starts: a taken port is the
 * most common mistake and should fail before the emulators are started for nothing.
 */
export async function startGateway(options: {
  port: number;
  host: string;
  baseUrl: string;
  log: (line: string) => void;
}): Promise<Gateway> {
  let answer: ((request: GatewayRequest) => Promise<GatewayAnswer>) | undefined;
  const server = createServer((request, response) => {
    if (!answer) {
      response
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: false, starting: true }));
      return;
    }
    // http ignores a listener's promise: respond() answers its own failures.
    void respond(request, response, answer, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${options.port} is already in use: stop what runs there or set PORT to another port.`)
          : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  server.closeIdleConnections?.();
  return {
    serve(routes, api) {
      answer = (request) => answerFrom(routes, api, request);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A dashboard left open keeps its connection busy polling: close it rather than wait for ever.
        server.closeAllConnections();
      }),
  };
}

async function respond(
  request: IncomingMessage,
  response: ServerResponse,
  answer: (request: GatewayRequest) => Promise<GatewayAnswer>,
  options: { baseUrl: string; log: (line: string) => void },
): Promise<void> {
  try {
    const result = await answer({
      method: request.method ?? 'GET',
      url: new URL(request.url ?? '/', options.baseUrl),
      headers: request.headers,
      body: await readBody(request),
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    });
    response.writeHead(result.statusCode, result.headers ?? { 'content-type': 'application/json' }).end(result.body);
  } catch (error) {
    options.log(`! unhandled ${request.method} ${request.url}: ${String(error)}`);
    if (!response.headersSent)
      response
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'Internal Server Error' }));
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function answerFrom(
  routes: readonly GatewayRoute[],
  api: (request: GatewayRequest) => Promise<GatewayAnswer>,
  request: GatewayRequest,
) {
  for (const route of routes) {
    const matches = route.prefix ? request.url.pathname.startsWith(route.path) : request.url.pathname === route.path;
    if (!matches || (route.method && route.method !== request.method)) continue;
    const answer = await route.answer(request);
    if (answer) return answer;
  }
  return api(request);
}
