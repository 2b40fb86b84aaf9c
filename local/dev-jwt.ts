import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

/**
 * The local runtime's identity provider: an RS256 issuer whose key pair lives under `.local/`, so
 * `npm run token` and `npm run demo` can sign tokens the running `npm start` accepts. It serves
 * what an OpenID provider serves (`/.well-known/openid-configuration`, `/.well-known/jwks.json`),
 * and the local gateway verifies its tokens exactly as the API Gateway JWT authorizer would
 * (local/jwt-authorizer.ts). The issuer is the runtime's own base URL, as OIDC discovery requires.
 */
export const DEV_AUDIENCE = 'payments-api';
const ALGORITHM = 'RS256';
export const DEV_ISSUER_KEY_FILE = 'dev-issuer.jwk.json';
const TOKEN_TTL = '12h';

export interface DevIssuer {
  issuer: string;
  audience: string;
  /** The public half, as the issuer's JWKS publishes it. */
  jwks: { keys: JWK[] };
  /** `claims`: more claims, as a shop's identity provider adds them (a payer's openid). */
  sign(input: { sub: string; scope?: string; ttl?: string | number; claims?: Record<string, string> }): Promise<string>;
  openidConfiguration(): Record<string, unknown>;
}

export const devIssuerUrl = (baseUrl: string) => baseUrl.replace(/\/$/, '');

/** The issuer of the runtime at `baseUrl`, with the key pair kept in `dataDir` (created on first use). */
export async function loadOrCreateDevIssuer(dataDir: string, baseUrl: string): Promise<DevIssuer> {
  const privateJwk = await loadOrCreateKey(path.join(dataDir, DEV_ISSUER_KEY_FILE));
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const privateKey = await importJWK(privateJwk, ALGORITHM);
  const issuer = devIssuerUrl(baseUrl);
  return {
    issuer,
    audience: DEV_AUDIENCE,
    jwks: { keys: [{ ...publicJwk, use: 'sig', alg: ALGORITHM }] },
    sign: ({ sub, scope, ttl = TOKEN_TTL, claims = {} }) =>
      new SignJWT({ ...claims, ...(scope ? { scope } : {}) })
        .setProtectedHeader({ alg: ALGORITHM, kid: privateJwk.kid!, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(DEV_AUDIENCE)
        .setSubject(sub)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime(ttl)
        .sign(privateKey),
    openidConfiguration: () => ({
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: [ALGORITHM],
      response_types_supported: ['token'],
      subject_types_supported: ['public'],
      scopes_supported: ['openid'],
    }),
  };
}

async function loadOrCreateKey(file: string): Promise<JWK> {
  if (existsSync(file)) {
    try {
      const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
      if (jwk.kty === 'RSA' && jwk.d && jwk.kid) return jwk;
    } catch {
      /* reported below */
    }
    throw new Error(
      `${file} is not a dev issuer key: delete it and a new one is made (tokens signed with the old key stop working).`,
    );
  }
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  jwk.kid = `dev-${new Date().toISOString().slice(0, 10)}-${crypto.randomUUID().slice(0, 8)}`;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}
