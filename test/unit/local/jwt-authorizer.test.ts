import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ISSUER_KEY_FILE, type DevIssuer, loadOrCreateDevIssuer } from '../../../local/dev-jwt';
import { authorizerSettings, jwtAuthorizer } from '../../../local/jwt-authorizer';
import { ADMIN_SCOPE } from '../../../src/http/routes';

/**
 * The local gateway's stand-in for the API Gateway JWT authorizer: every check AWS documents for
 * it, each refused the way the gateway refuses (401 Unauthorized, 403 Forbidden on a missing scope).
 */
const BASE_URL = 'http://127.0.0.1:3999';
let dataDir: string;
let issuer: DevIssuer;
let issuerKey: CryptoKey;
let authorize: ReturnType<typeof jwtAuthorizer>;
const bearer = (token: string) => `Bearer ${token}`;
const UNAUTHORIZED = { ok: false, statusCode: 401, message: 'Unauthorized' };

/** A token signed with the dev issuer's own key, with any claims and header we choose. */
function signed(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key: CryptoKey = issuerKey,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    iss: issuer.issuer,
    aud: issuer.audience,
    sub: 'alice',
    iat: now,
    exp: now + 600,
    ...claims,
  });
  return jwt.setProtectedHeader({ alg: 'RS256', kid: issuer.jwks.keys[0]!.kid, ...header }).sign(key);
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'payments-jwt-'));
  issuer = await loadOrCreateDevIssuer(dataDir, BASE_URL);
  issuerKey = (await importJWK(
    JSON.parse(readFileSync(path.join(dataDir, DEV_ISSUER_KEY_FILE), 'utf8')),
    'RS256',
  )) as CryptoKey;
  authorize = jwtAuthorizer(authorizerSettings({}, issuer));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('the dev issuer', () => {
  it('signs RS256 with a kid its JWKS publishes, and keeps its key across restarts', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    expect(header).toMatchObject({ alg: 'RS256', kid: issuer.jwks.keys[0]!.kid });
    expect(issuer.jwks.keys[0]).not.toHaveProperty('d'); // the public half only
    const again = await loadOrCreateDevIssuer(dataDir, BASE_URL);
    expect(again.jwks).toEqual(issuer.jwks);
    expect(issuer.openidConfiguration()).toMatchObject({
      issuer: BASE_URL,
      jwks_uri: `${BASE_URL}/.well-known/jwks.json`,
    });
  });

  it('names the file and the fix when its key file is damaged', async () => {
    const broken = await mkdtemp(path.join(tmpdir(), 'payments-jwt-broken-'));
    writeFileSync(path.join(broken, DEV_ISSUER_KEY_FILE), '{not json');
    await expect(loadOrCreateDevIssuer(broken, BASE_URL)).rejects.toThrow(
      /dev-issuer\.jwk\.json is not a dev issuer key: delete it/,
    );
    await rm(broken, { recursive: true, force: true });
  });
});

describe('the local JWT authorizer', () => {
  it('accepts the dev issuer’s token and hands over its claims and scopes', async () => {
    const decision = await authorize(bearer(await issuer.sign({ sub: 'alice', scope: `openid ${ADMIN_SCOPE}` })), [
      ADMIN_SCOPE,
    ]);
    expect(decision).toMatchObject({
      ok: true,
      claims: { sub: 'alice', iss: BASE_URL, aud: 'payments-api' },
      scopes: ['openid', ADMIN_SCOPE],
    });
  });

  it('refuses a missing header, a non-JWT, and a token signed by anyone else', async () => {
    const { privateKey: stranger } = await generateKeyPair('RS256');
    expect(await authorize(undefined)).toEqual(UNAUTHORIZED);
    expect(await authorize('Bearer not.a.jwt')).toEqual(UNAUTHORIZED);
    expect(await authorize(bearer(await signed({}, {}, stranger)))).toEqual(UNAUTHORIZED);
  });

  it('refuses HS256 and alg none tokens even with the right claims', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer.issuer, aud: issuer.audience, sub: 'alice', iat: now, exp: now + 600 };
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: issuer.jwks.keys[0]!.kid })
      .sign(new TextEncoder().encode('a shared secret of 32 bytes!!!!!'));
    const none = new UnsecuredJWT(claims).encode();
    expect(await authorize(bearer(hs256))).toEqual(UNAUTHORIZED);
    expect(await authorize(bearer(none))).toEqual(UNAUTHORIZED);
  });

  it('refuses a token without a kid, or with a kid the JWKS does not have', async () => {
    expect(await authorize(bearer(await signed({}, { kid: undefined })))).toEqual(UNAUTHORIZED);
    expect(await authorize(bearer(await signed({}, { kid: 'some-other-key' })))).toEqual(UNAUTHORIZED);
  });

  it('checks iss, and aud (or client_id when there is no aud)', async () => {
    expect(await authorize(bearer(await signed({ iss: 'https://elsewhere.example' })))).toEqual(UNAUTHORIZED);
    expect(await authorize(bearer(await signed({ aud: 'another-api' })))).toEqual(UNAUTHORIZED);
    expect(await authorize(bearer(await signed({ aud: ['another-api', issuer.audience] })))).toMatchObject({
      ok: true,
    });
    expect(await authorize(bearer(await signed({ aud: undefined, client_id: issuer.audience })))).toMatchObject({
      ok: true,
    });
    expect(await authorize(bearer(await signed({ aud: undefined, client_id: 'another-client' })))).toEqual(
      UNAUTHORIZED,
    );
    expect(await authorize(bearer(await signed({ aud: undefined })))).toEqual(UNAUTHORIZED);
  });

  it('checks exp (required), nbf and iat against now', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await authorize(bearer(await signed({ exp: now - 1 })))).toEqual(UNAUTHORIZED);
    expect(await authorize(bearer(await signed({ exp: undefined })))).toEqual(UNAUTHORIZED);
    expect(await authorize(bearer(await signed({ nbf: now + 60 })))).toEqual(UNAUTHORIZED);
    expect(await authorize(bearer(await signed({ iat: now + 60 })))).toEqual(UNAUTHORIZED);
    expect(await authorize(bearer(await signed({ nbf: now - 60, iat: now - 60 })))).toMatchObject({ ok: true });
  });

  it('answers 403 when a route’s scope is in neither scope nor scp', async () => {
    expect(await authorize(bearer(await signed({ scope: 'openid' })), [ADMIN_SCOPE])).toEqual({
      ok: false,
      statusCode: 403,
      message: 'Forbidden',
    });
    expect(await authorize(bearer(await signed({ scp: ['openid', ADMIN_SCOPE] })), [ADMIN_SCOPE])).toMatchObject({
      ok: true,
      scopes: ['openid', ADMIN_SCOPE],
    });
    expect(await authorize(bearer(await signed({ scope: 'openid' })), [])).toMatchObject({ ok: true });
  });
});

describe('a shop’s own identity provider (LOCAL_JWT_ISSUER)', () => {
  it('needs an audience', () => {
    expect(() => authorizerSettings({ LOCAL_JWT_ISSUER: 'https://idp.example' }, issuer)).toThrow(/LOCAL_JWT_AUDIENCE/);
  });

  it('is trusted through its JWKS URL, and the dev issuer no longer is', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'shop-key-1', alg: 'RS256', use: 'sig' }] };
    const server = createServer((request, response) => {
      const body =
        request.url === '/.well-known/openid-configuration'
          ? { issuer: `http://127.0.0.1:${port}`, jwks_uri: `http://127.0.0.1:${port}/keys` }
          : jwks;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const shopIssuer = `http://127.0.0.1:${port}`;
    try {
      const now = Math.floor(Date.now() / 1000);
      const shopToken = await new SignJWT({ scope: 'orders' })
        .setProtectedHeader({ alg: 'RS256', kid: 'shop-key-1' })
        .setIssuer(shopIssuer)
        .setSubject('bob')
        .setExpirationTime(now + 600)
        .setIssuedAt(now)
        .sign(privateKey);
      const withCognitoStyleClientId = await new SignJWT({ client_id: 'shop-web' })
        .setProtectedHeader({ alg: 'RS256', kid: 'shop-key-1' })
        .setIssuer(shopIssuer)
        .setSubject('bob')
        .setExpirationTime(now + 600)
        .sign(privateKey);
      for (const env of [
        { LOCAL_JWT_ISSUER: shopIssuer, LOCAL_JWT_AUDIENCE: 'shop-web', LOCAL_JWT_JWKS_URL: `${shopIssuer}/keys` },
        { LOCAL_JWT_ISSUER: shopIssuer, LOCAL_JWT_AUDIENCE: 'shop-web' }, // discovered through openid-configuration
      ]) {
        const shopAuthorize = jwtAuthorizer(authorizerSettings(env, issuer));
        expect(await shopAuthorize(bearer(withCognitoStyleClientId))).toMatchObject({
          ok: true,
          claims: { sub: 'bob' },
        });
        expect(await shopAuthorize(bearer(shopToken))).toEqual(UNAUTHORIZED); // no aud, no client_id
        expect(await shopAuthorize(bearer(await issuer.sign({ sub: 'alice' })))).toEqual(UNAUTHORIZED);
      }
    } finally {
      server.close();
    }
  });
});
