import type middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import type { Deps } from '../core/kernel/deps';
import { DomainError } from '../domain/errors';
import { toErrorResponse, HttpError } from './errors';
import { fingerprint, type Remember, runIdempotent, validateKey } from './idempotency';
import { ADMIN_SCOPE, type RouteAuth } from './routes';
import { lambdaHandler, type Wiring } from '../runtime/wiring';
import { scopesOf } from './scopes';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = { statusCode: number; body: unknown; headers?: Record<string, string> };

export const MAX_BODY_BYTES = 64 * 1024;

/** The part of a route table entry (routes.ts) that httpRoute acts on. */
export interface RouteSpec<
  Body extends z.core.$ZodType,
  Params extends z.core.$ZodType,
  Query extends z.core.$ZodType = z.ZodMiniUndefined,
> {
  readonly fn: string;
  readonly auth: RouteAuth;
  readonly body?: Body;
  readonly params?: Params;
  /** The query string's parameters (lists: filters, limit, cursor). */
  readonly query?: Query;
  readonly idempotent?: boolean;
  readonly successStatus?: number;
}

export interface RouteInput<Body, Params, Query = undefined> {
  deps: Deps;
  /** The token's `sub`: the customer, or on admin routes the person acting (the audit's "who"). */
  customerId: string;
  /** The token carries the admin scope: routes open to customers show an admin anyone's records. */
  isAdmin: boolean;
  body: Body;
  params: Params;
  query: Query;
  event: HttpEvent;
  /** Writes that record this request's response under its Idempotency-Key, for the same transaction. */
  remember: Remember;
}

/**
 * The HTTP plumbing every API function shares: header normalisation, a body size limit, JSON
 * parsing (middy), identity from the JWT authorizer, zod validation, idempotency, and one error
 * mapping. A handler module passes its route table entry (routes.ts) and the call into the core.
 */
export function httpRoute<
  Body extends z.core.$ZodType = z.ZodMiniUndefined,
  Params extends z.core.$ZodType = z.ZodMiniUndefined,
  Query extends z.core.$ZodType = z.ZodMiniUndefined,
>(
  spec: RouteSpec<Body, Params, Query>,
  wiring: Wiring,
  run: (input: RouteInput<z.infer<Body>, z.infer<Params>, z.infer<Query>>) => Promise<unknown>,
) {
  if (spec.auth === 'public')
    throw new Error(`${spec.fn}: httpRoute serves customer and admin routes; a public route has its own handler`);
  const auth = spec.auth;
  const successStatus = spec.successStatus ?? 200;
  const core = async (event: HttpEvent, _context: Context): Promise<APIGatewayProxyResultV2> => {
    const deps = await wiring.deps();
    try {
      const customerId = identify(event, auth);
      const { body, params, query } = parseRequest(spec, event);
      const input = {
        deps,
        customerId,
        isAdmin: isStaff(event),
        body,
        params,
        query,
        event,
        remember: (() => []) as Remember,
      };
      const key = event.headers['idempotency-key'];
      if (!spec.idempotent || !key) return respond({ statusCode: successStatus, body: await run(input) });
      const scope = {
        customerId,
        key: validateKey(key),
        fingerprint: fingerprint(`${event.requestContext.http.method} ${event.rawPath}`, input.body),
        successStatus,
      };
      const outcome = await runIdempotent(deps, scope, (remember) => run({ ...input, remember }));
      return respond({
        statusCode: outcome.statusCode,
        body: outcome.body,
        headers: outcome.replayed ? { 'idempotent-replayed': 'true' } : {},
      });
    } catch (error) {
      const response = toErrorResponse(error);
      if (response.statusCode >= 500)
        deps.logger.error('request failed', { path: event.rawPath, error: describe(error) });
      return respond(response);
    }
  };
  return lambdaHandler(wiring, core)
    .use(httpHeaderNormalizer())
    .use(bodyLimit(MAX_BODY_BYTES))
    .use(optionalJsonBody())
    .onError(async (request) => {
      // Errors from the middlewares themselves (malformed JSON, oversize body).
      request.response = respond(toErrorResponse(request.error));
    });
}

/** The body, path parameters and query string, each by its schema (none: undefined, the query string ignored). */
function parseRequest<Body extends z.core.$ZodType, Params extends z.core.$ZodType, Query extends z.core.$ZodType>(
  spec: RouteSpec<Body, Params, Query>,
  event: HttpEvent,
) {
  return {
    body: z.parse(spec.body ?? z.undefined(), event.body ?? undefined) as z.infer<Body>,
    params: z.parse(
      spec.params ?? z.undefined(),
      spec.params ? (event.pathParameters ?? {}) : undefined,
    ) as z.infer<Params>,
    query: (spec.query ? z.parse(spec.query, event.queryStringParameters ?? {}) : undefined) as z.infer<Query>,
  };
}

function identify(event: HttpEvent, auth: 'customer' | 'admin'): string {
  const claims = event.requestContext.authorizer?.jwt?.claims ?? {};
  const subject = claims.sub;
  if (typeof subject !== 'string' || subject === '')
    throw new HttpError('UNAUTHENTICATED', 'A valid bearer token is required');
  if (auth === 'admin' && !isStaff(event))
    throw new HttpError('FORBIDDEN', `This route needs the ${ADMIN_SCOPE} scope`);
  return subject;
}

/** The token's scopes, read by the one parser the local gateway's authorizer also uses (./scopes.ts). */
function isStaff(event: HttpEvent): boolean {
  return scopesOf(event.requestContext.authorizer?.jwt?.claims ?? {}).includes(ADMIN_SCOPE);
}

function respond(result: HttpResult): APIGatewayProxyResultV2 {
  return {
    statusCode: result.statusCode,
    headers: { 'content-type': 'application/json', ...result.headers },
    body: JSON.stringify(result.body),
  };
}

function bodyLimit(maxBytes: number): middy.MiddlewareObj<HttpEvent> {
  return {
    before: ({ event }) => {
      if (event.body === undefined) return;
      const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64').length : Buffer.byteLength(event.body);
      if (bytes > maxBytes)
        throw new HttpError('PAYLOAD_TOO_LARGE', `The body is ${bytes} bytes; at most ${maxBytes} are accepted`);
    },
  };
}

/** middy's JSON parser, skipped for requests that carry no body (start, cancel). */
function optionalJsonBody(): middy.MiddlewareObj<HttpEvent> {
  const parser = httpJsonBodyParser();
  return {
    before: async (request) => {
      if (request.event.body === undefined || request.event.body === '') {
        (request.event as { body?: unknown }).body = undefined;
        return;
      }
      await parser.before?.(request as never);
    },
  };
}

function describe(error: unknown): Record<string, unknown> {
  if (error instanceof DomainError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { value: String(error) };
}
