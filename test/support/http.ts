import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { HttpEvent } from '../../src/http/route';
import { claimsAsText } from '../../src/http/scopes';

export interface RequestOptions {
  customerId?: string;
  scope?: string;
  /** More claims of the token, as JSON values: passed to the function as API Gateway passes them (text). */
  claims?: Record<string, unknown>;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  /** The query string's parameters, as API Gateway passes them. */
  query?: Record<string, string>;
  idempotencyKey?: string;
}

/** An API Gateway HTTP API (payload v2) event as the JWT authorizer hands it to Lambda. */
export function httpEvent(method: string, path: string, options: RequestOptions = {}): HttpEvent {
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
    ...options.headers,
  };
  const claims = options.customerId
    ? {
        sub: options.customerId,
        ...(options.scope ? { scope: options.scope } : {}),
        ...claimsAsText(options.claims ?? {}),
      }
    : undefined;
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers,
    pathParameters: options.pathParameters,
    ...(options.query && Object.keys(options.query).length > 0 ? { queryStringParameters: options.query } : {}),
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      authorizer: claims
        ? { principalId: '', integrationLatency: 0, jwt: { claims, scopes: [] } }
        : (undefined as never),
    },
  } as HttpEvent;
}

export const lambdaContext = {
  awsRequestId: 'test',
  functionName: 'test',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
export interface JsonResponse<T = any> {
  statusCode: number;
  headers: Record<string, string>;
  body: T;
}

type Handler = (event: HttpEvent, context: Context) => Promise<APIGatewayProxyResultV2>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see JsonResponse
export async function invoke<T = any>(handler: Handler, event: HttpEvent): Promise<JsonResponse<T>> {
  const result = (await handler(event, lambdaContext)) as {
    statusCode: number;
    headers?: Record<string, string>;
    body?: string;
  };
  return {
    statusCode: result.statusCode,
    headers: result.headers ?? {},
    body: result.body ? JSON.parse(result.body) : undefined,
  };
}
