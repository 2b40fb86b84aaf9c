import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { ADMIN_SCOPE, API_ROUTES, type ApiRoute } from '../src/http/routes';
import { type GatewayAnswer, type GatewayRequest, jsonAnswer } from './gateway';
import type { jwtAuthorizer } from './jwt-authorizer';
import type { JWTPayload } from 'jose';
import { claimsAsText } from '../src/http/scopes';

/** Content types API Gateway passes as text; any other body arrives base64-encoded. */
const TEXT_TYPES = /^(text\/|application\/(json|javascript|xml)|application\/[a-z.+-]+\+json)/i;

interface CompiledRoute {
  route: ApiRoute;
  pattern: RegExp;
  names: string[];
}

const compiled: CompiledRoute[] = API_ROUTES.map((route) => {
  const names: string[] = [];
  const source = route.path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
});

/** A path whose percent-encoding does not decode: API Gateway answers 400 before any route runs. */
export class MalformedPathError extends Error {}

/** The route and path parameters for a request, matched the way HTTP API route keys match. */
export function matchRoute(
  method: string,
  path: string,
): { route: ApiRoute; pathParameters: Record<string, string> } | undefined {
  // Literal segments win over parameters (`/api/orders/batch` before `/api/orders/{orderId}`).
  const candidates = compiled
    .filter((entry) => entry.route.method === method && entry.pattern.test(path))
    .sort((a, b) => a.names.length - b.names.length);
  const best = candidates[0];
  if (!best) return undefined;
  const values = best.pattern.exec(path)!.slice(1);
  return {
    route: best.route,
    pathParameters: Object.fromEntries(best.names.map((name, index) => [name, decodePathSegment(values[index]!)])),
  };
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MalformedPathError(`malformed percent-encoding in ${segment}`);
  }
}

/** A faithful HTTP API payload v2 event, with the JWT authorizer's claims where it puts them. */
export function toApiGatewayEvent(input: {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: Buffer;
  route: ApiRoute;
  pathParameters: Record<string, string>;
  claims?: JWTPayload;
  scopes?: string[];
  sourceIp: string;
}): APIGatewayProxyEventV2WithJWTAuthorizer {
  const headers = Object.fromEntries(
    Object.entries(input.headers)
      .filter(([name]) => name !== 'cookie')
      .map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(',') : (value ?? '')]),
  );
  const contentType = headers['content-type'] ?? '';
  const isText = TEXT_TYPES.test(contentType);
  const now = new Date();
  const routeKey = `${input.route.method} ${input.route.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: input.url.pathname,
    rawQueryString: input.url.search.replace(/^\?/, ''),
    headers,
    ...(input.url.search ? { queryStringParameters: Object.fromEntries(input.url.searchParams) } : {}),
    ...(Object.keys(input.pathParameters).length > 0 ? { pathParameters: input.pathParameters } : {}),
    ...(input.body.length > 0 ? { body: isText ? input.body.toString('utf8') : input.body.toString('base64') } : {}),
    isBase64Encoded: input.body.length > 0 && !isText,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: (headers.host ?? '127').split('.')[0]!,
      http: {
        method: input.method,
        path: input.url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: input.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims: claimsAsText(input.claims ?? {}), scopes: input.scopes ?? [] },
      },
    },
  } as APIGatewayProxyEventV2WithJWTAuthorizer;
}

/** What answering the API takes: the JWT authorizer, and a way to invoke a route's function with its event. */
export interface ApiGatewayOptions {
  authorize: ReturnType<typeof jwtAuthorizer>;
  invoke(fn: string, event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<unknown>;
}

/**
 * The API as API Gateway serves it: the route matched, the JWT authorizer's answer before any
 * function runs, then the route's function with a payload v2 event.
 */
export function apiGateway({
  authorize,
  invoke,
}: ApiGatewayOptions): (request: GatewayRequest) => Promise<GatewayAnswer> {
  return async (request) => {
    let match;
    try {
      match = matchRoute(request.method, request.url.pathname);
    } catch (error) {
      if (error instanceof MalformedPathError) return gatewayAnswer(400, 'Bad Request');
      throw error;
    }
    if (!match) return gatewayAnswer(404, 'Not Found');
    let identity: { claims?: Record<string, unknown>; scopes?: string[] } = {};
    if (match.route.auth !== 'public') {
      const decision = await authorize(
        request.headers.authorization,
        match.route.auth === 'admin' ? [ADMIN_SCOPE] : [],
      );
      if (!decision.ok) return gatewayAnswer(decision.statusCode, decision.message);
      identity = decision;
    }
    const event = toApiGatewayEvent({
      ...request,
      route: match.route,
      pathParameters: match.pathParameters,
      ...identity,
    });
    const result = (await invoke(match.route.fn, event)) as {
      statusCode?: number;
      headers?: Record<string, string>;
      body?: string;
      isBase64Encoded?: boolean;
    };
    const body = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? '');
    return { statusCode: result.statusCode ?? 200, headers: result.headers ?? {}, body };
  };
}

/** The gateway's own answers (no function runs) have this shape, in AWS and here. */
const gatewayAnswer = (statusCode: number, message: string): GatewayAnswer => jsonAnswer(statusCode, { message });
