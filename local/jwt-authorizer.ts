import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { scopesOfToken } from '../src/http/scopes';
import type { DevIssuer } from './dev-jwt';

/**
 * The API Gateway HTTP API JWT authorizer, as the local gateway's stand-in. It checks what AWS
 * documents for that authorizer: an RSA signature by a key named by `kid` in the issuer's JWKS,
 * `iss`, `aud` (or `client_id` when there is no `aud`) against the configured audiences, `exp`,
 * `nbf` and `iat` against now, and a route's scopes against `scope` / `scp`. It refuses the way the
 * gateway does: 401 `{"message":"Unauthorized"}`, 403 `{"message":"Forbidden"}`.
 */
export type AuthorizerDecision =
  | { ok: true; claims: JWTPayload; scopes: string[] }
  | { ok: false; statusCode: 401 | 403; message: 'Unauthorized' | 'Forbidden' };

export interface AuthorizerSettings {
  issuer: string;
  audiences: readonly string[];
  keys: JWTVerifyGetKey;
}

/** The gateway accepts RSA-signed tokens only. */
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'];
const UNAUTHORIZED = { ok: false, statusCode: 401, message: 'Unauthorized' } as const;
const FORBIDDEN = { ok: false, statusCode: 403, message: 'Forbidden' } as const;
const JWKS_TIMEOUT_MS = 5_000;

export function jwtAuthorizer(settings: AuthorizerSettings) {
  return async (
    authorization: string | undefined,
    routeScopes: readonly string[] = [],
    now = new Date(),
  ): Promise<AuthorizerDecision> => {
    const token = authorization?.replace(/^Bearer\s+/i, '').trim();
    if (!token) return UNAUTHORIZED;
    let claims: JWTPayload;
    try {
      if (!decodeProtectedHeader(token).kid) return UNAUTHORIZED;
      ({ payload: claims } = await jwtVerify(token, settings.keys, {
        issuer: settings.issuer,
        algorithms: RSA_ALGORITHMS,
        requiredClaims: ['exp'],
        currentDate: now,
      }));
    } catch {
      return UNAUTHORIZED; // bad signature, unknown kid, wrong alg, wrong iss, expired, not yet valid
    }
    if (!audienceMatches(claims, settings.audiences)) return UNAUTHORIZED;
    if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat * 1000 > now.getTime()))
      return UNAUTHORIZED;
    const scopes = scopesOfToken(claims);
    if (routeScopes.length > 0 && !routeScopes.some((scope) => scopes.includes(scope))) return FORBIDDEN;
    return { ok: true, claims, scopes };
  };
}

/** `aud` when the token has one, otherwise `client_id` (as Cognito access tokens carry). */
function audienceMatches(claims: JWTPayload, audiences: readonly string[]): boolean {
  if (claims.aud !== undefined)
    return (Array.isArray(claims.aud) ? claims.aud : [claims.aud]).some((aud) => audiences.includes(aud));
  return typeof claims.client_id === 'string' && audiences.includes(claims.client_id);
}

/**
 * The issuer the local gateway trusts: its own dev issuer, or the shop's identity provider when
 * LOCAL_JWT_ISSUER is set (JWKS from LOCAL_JWT_JWKS_URL, or discovered from the issuer's
 * openid-configuration as API Gateway does; audiences from LOCAL_JWT_AUDIENCE, comma-separated).
 */
export function authorizerSettings(env: NodeJS.ProcessEnv, devIssuer: DevIssuer): AuthorizerSettings {
  const issuer = env.LOCAL_JWT_ISSUER?.trim();
  if (!issuer)
    return { issuer: devIssuer.issuer, audiences: [devIssuer.audience], keys: createLocalJWKSet(devIssuer.jwks) };
  const audiences = (env.LOCAL_JWT_AUDIENCE ?? '')
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean);
  if (audiences.length === 0)
    throw new Error(
      'LOCAL_JWT_ISSUER is set without LOCAL_JWT_AUDIENCE: name the audience (client id) your tokens carry.',
    );
  const jwksUrl = env.LOCAL_JWT_JWKS_URL?.trim();
  return {
    issuer,
    audiences,
    keys: jwksUrl ? createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS }) : discoveredKeys(issuer),
  };
}

/** The issuer's JWKS, found through `${issuer}/.well-known/openid-configuration` on first use. */
function discoveredKeys(issuer: string): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const discover = async () => {
    const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(JWKS_TIMEOUT_MS),
    });
    const { jwks_uri: jwksUri } = (await response.json()) as { jwks_uri?: string };
    if (!response.ok || !jwksUri) throw new Error(`no jwks_uri in ${issuer}'s openid-configuration`);
    return createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: JWKS_TIMEOUT_MS });
  };
  return async (header, token) => {
    keys ??= discover().catch((error) => {
      keys = undefined; // discovery failed: try again on the next request
      throw error;
    });
    return (await keys)(header, token);
  };
}
