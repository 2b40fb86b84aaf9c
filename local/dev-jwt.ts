import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The local stand-in for the HTTP API JWT authorizer's identity provider: HS256 tokens from a dev
 * issuer whose secret lives under `.local/`. Verification checks what the authorizer checks:
 * signature, issuer, audience, expiry.
 */
export const DEV_ISSUER = 'https://payments.local/dev-issuer';
export const DEV_AUDIENCE = 'payments-api';

export interface DevClaims {
  sub: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  scope?: string;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export function loadOrCreateIssuerSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, 'dev-issuer.secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
}

export function signDevToken(secret: Buffer, input: { sub: string; scope?: string; ttlSeconds?: number; now?: Date }): string {
  const iat = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const claims: DevClaims = { sub: input.sub, iss: DEV_ISSUER, aud: DEV_AUDIENCE, iat, exp: iat + (input.ttlSeconds ?? 12 * 3600), ...(input.scope ? { scope: input.scope } : {}) };
  const unsigned = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${unsigned}.${b64url(createHmac('sha256', secret).update(unsigned).digest())}`;
}

/** The token's claims, or undefined when any check fails (the authorizer answers 401 alike). */
export function verifyDevToken(secret: Buffer, token: string, now: Date = new Date()): DevClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    if (JSON.parse(Buffer.from(header, 'base64url').toString()).alg !== 'HS256') return undefined;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as DevClaims;
    const seconds = now.getTime() / 1000;
    if (claims.iss !== DEV_ISSUER || claims.aud !== DEV_AUDIENCE || typeof claims.sub !== 'string' || !(claims.exp > seconds)) return undefined;
    return claims;
  } catch {
    return undefined;
  }
}
