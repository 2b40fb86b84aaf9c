import { sign, verify, type KeyObject } from 'node:crypto';

/** Alipay's side of RSA2: checking the merchant's requests and order strings, signing its own answers. */

/** Sorted `k=v&...` over non-empty raw values, without the omitted keys. */
export function signString(params: ReadonlyMap<string, string>, omitted: readonly string[]): string {
  return [...params]
    .filter(([key, value]) => value !== '' && !omitted.includes(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

export function rsa2(content: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(content, 'utf8'), privateKey).toString('base64');
}

/** The gateway accepts a request signed over every parameter but `sign`, or also without sign_type. */
export function requestSigned(params: ReadonlyMap<string, string>, appPublicKey: KeyObject): boolean {
  const signature = Buffer.from(params.get('sign') ?? '', 'base64');
  return [['sign'], ['sign', 'sign_type']].some((omitted) =>
    verify('sha256', Buffer.from(signString(params, omitted), 'utf8'), appPublicKey, signature),
  );
}

/** One value per key, or undefined when a key repeats. */
export function uniqueParams(search: URLSearchParams): Map<string, string> | undefined {
  const params = new Map<string, string>();
  for (const [key, value] of search) {
    if (params.has(key)) return undefined;
    params.set(key, value);
  }
  return params;
}
