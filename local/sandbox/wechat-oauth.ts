import { createHash, randomBytes } from 'node:crypto';
import { SANDBOX_WECHAT_APPIDS } from './scenes';
import type { SandboxRequest, SandboxResponse } from './types';

/**
 * Where a shop gets the payer's openid, at the sandbox (SCENES.md §1, §2): the official account's
 * page-level OAuth (`/connect/oauth2/authorize` redirects back with a `code`, which the shop's
 * server exchanges at `/sns/oauth2/access_token`) and the mini-program's `wx.login` code exchanged
 * at `/sns/jscode2session`. An openid is per appid and per user: the sandbox derives it from both,
 * so the same customer gets the same openid every time. A code is used once and lives 5 minutes,
 * as WeChat's; any non-empty `secret` is taken (the sandbox holds no app secrets).
 */

const CODE_TTL_MS = 5 * 60_000;
export const OAUTH_PATHS = {
  authorize: '/connect/oauth2/authorize',
  accessToken: '/sns/oauth2/access_token',
  jscode2session: '/sns/jscode2session',
} as const;

/** Codes handed out by authorize: code → who and when. */
export type OauthCodes = Map<string, { appid: string; user: string; scope: string; issuedAt: number }>;

/** The user's openid under an appid: stable, 28 characters like WeChat's. */
export function sandboxOpenid(appid: string, user: string): string {
  return `o${createHash('sha256').update(`${appid}:${user}`).digest('base64url').slice(0, 27)}`;
}

const json = (body: unknown): SandboxResponse => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});
// WeChat answers its OAuth errors with HTTP 200 and {errcode, errmsg}.
const oauthError = (errcode: number, errmsg: string) => json({ errcode, errmsg });

/** GET requests of the OAuth stand-in, or undefined for another path. */
export function oauthResponse(request: SandboxRequest, codes: OauthCodes, now: Date): SandboxResponse | undefined {
  if (request.method !== 'GET') return undefined;
  const query = request.query;
  if (request.path === OAUTH_PATHS.authorize) return authorize(query, codes, now);
  if (request.path !== OAUTH_PATHS.accessToken && request.path !== OAUTH_PATHS.jscode2session) return undefined;
  const appid = query.get('appid') ?? '';
  if (!query.get('secret')) return oauthError(41004, 'appsecret missing');
  if (query.get('grant_type') !== 'authorization_code') return oauthError(40002, 'invalid grant_type');
  if (request.path === OAUTH_PATHS.jscode2session) {
    const jsCode = query.get('js_code') ?? '';
    if (appid !== SANDBOX_WECHAT_APPIDS.miniprogram) return oauthError(40013, 'invalid appid');
    if (!jsCode) return oauthError(40029, 'invalid code');
    // wx.login's code stands for the mini-program's user: the same code, the same openid.
    return json({ openid: sandboxOpenid(appid, jsCode), session_key: randomBytes(16).toString('base64') });
  }
  const code = query.get('code') ?? '';
  const issued = codes.get(code);
  if (!issued || issued.appid !== appid || issued.issuedAt + CODE_TTL_MS <= now.getTime())
    return oauthError(40029, 'invalid code');
  codes.delete(code);
  return json({
    access_token: randomBytes(24).toString('base64url'),
    expires_in: 7200,
    refresh_token: randomBytes(24).toString('base64url'),
    openid: sandboxOpenid(appid, issued.user),
    scope: issued.scope,
  });
}

/** The consent page WeChat shows (silent for snsapi_base): straight back to redirect_uri with a code. */
function authorize(query: URLSearchParams, codes: OauthCodes, now: Date): SandboxResponse {
  const appid = query.get('appid') ?? '';
  const scope = query.get('scope') ?? '';
  let redirect: URL;
  try {
    redirect = new URL(query.get('redirect_uri') ?? '');
  } catch {
    return page(400, 'redirect_uri 参数错误');
  }
  if (appid !== SANDBOX_WECHAT_APPIDS.jsapi) return page(400, '公众号不存在 (appid)');
  if (query.get('response_type') !== 'code' || (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo'))
    return page(400, 'response_type 或 scope 参数错误');
  const code = randomBytes(16).toString('hex');
  // Who the customer is at the sandbox: ?sandbox_user= plays another WeChat user.
  codes.set(code, { appid, user: query.get('sandbox_user') ?? 'customer', scope, issuedAt: now.getTime() });
  redirect.searchParams.set('code', code);
  redirect.searchParams.set('state', query.get('state') ?? '');
  return { statusCode: 302, headers: { location: redirect.href, 'cache-control': 'no-store' }, body: '' };
}

function page(statusCode: number, message: string): SandboxResponse {
  return {
    statusCode,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: `<!doctype html><meta charset="utf-8"><title>微信</title><p id="message">${message}</p>`,
  };
}
