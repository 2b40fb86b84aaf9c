import type * as z from 'zod/v4/core';
import type { HttpFunction } from '../runtime/functions';

/** The scope a token needs for admin routes (API Gateway `authorizationScopes`, checked again in the handler). */
export const ADMIN_SCOPE = 'payments:admin';

/**
 * Who may call a route. public: no token (a provider callback is authenticated by its signature);
 * customer: any valid token, the customer is its `sub`; admin: a valid token with ADMIN_SCOPE.
 */
export type RouteAuth = 'public' | 'customer' | 'admin';

/** One entry of the route table. */
export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** The folder under functions/ whose handler.ts serves this route. */
  readonly fn: HttpFunction;
  readonly auth: RouteAuth;
  readonly summary: string;
  readonly body?: z.$ZodType;
  readonly params?: z.$ZodType;
  /** The query string's parameters (API Gateway's queryStringParameters). */
  readonly query?: z.$ZodType;
  readonly successStatus?: number;
  /** Reads `Idempotency-Key` and runs the request at most once per key (creating POSTs). */
  readonly idempotent?: boolean;
}
