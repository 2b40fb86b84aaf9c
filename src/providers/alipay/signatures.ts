import { sign, verify, type KeyObject } from 'node:crypto';

/**
 * The signed string: sorted `key=value` joined by `&`, raw (decoded) values, leaving out the
 * `excluded` keys and empty values (the official SDKs skip empty values). Keys are ASCII, so the
 * code-unit sort the SDKs use is byte order.
 */
export function alipaySignContent(
  params: Readonly<Record<string, string | undefined>>,
  excluded: readonly string[],
): string {
  return Object.keys(params)
    .filter((key) => !excluded.includes(key) && params[key])
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

/** Base64 that decodes to the same text it re-encodes to: a signature has exactly one spelling. */
function strictBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.length > 0 && bytes.toString('base64') === text ? bytes : undefined;
}

export function rsa2Sign(content: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(content, 'utf8'), privateKey).toString('base64');
}

function rsa2Verify(content: string, signature: string, publicKey: KeyObject): boolean {
  const bytes = strictBase64(signature);
  return bytes !== undefined && verify('sha256', Buffer.from(content, 'utf8'), publicKey, bytes);
}

/** Verifies a notification's `sign`: the documented string (without sign_type), then the
 * SDK-accepted variant that keeps sign_type. */
export function notificationSigned(params: Readonly<Record<string, string>>, alipayPublicKey: KeyObject): boolean {
  const signature = params.sign ?? '';
  return (
    rsa2Verify(alipaySignContent(params, ['sign', 'sign_type']), signature, alipayPublicKey) ||
    rsa2Verify(alipaySignContent(params, ['sign']), signature, alipayPublicKey)
  );
}

/** Form fields as a record, or undefined when a key repeats (which copy would be the signed one?). */
export function parseAlipayForm(text: string): Record<string, string> | undefined {
  // No prototype, so a field named __proto__ is kept as data (and so covered by the signature).
  const params = Object.create(null) as Record<string, string>;
  for (const [key, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(params, key)) return undefined;
    params[key] = value;
  }
  return params;
}

/** `key=value&...` with every key and value percent-encoded (UTF-8), undefined values left out. */
export function encodeParams(params: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
}

/** Index just past the string literal opening at `start`. */
function stringEnd(json: string, start: number): number {
  for (let i = start + 1; i < json.length; i++) {
    if (json[i] === '\\') i++;
    else if (json[i] === '"') return i + 1;
  }
  return json.length;
}

/** Index just past the object or array opening at `start`. */
function containerEnd(json: string, start: number): number {
  let depth = 0;
  for (let i = start; i < json.length; i++) {
    const char = json[i];
    if (char === '"') i = stringEnd(json, i) - 1;
    else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return json.length;
}

/**
 * The exact text of a top-level member's object value in a valid JSON document. Alipay signs
 * those bytes as sent, so the node is cut out of the body, never re-serialised.
 */
function topLevelObjectText(json: string, name: string): string | undefined {
  const colon = /\s*:\s*/y;
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const char = json[i];
    if (char === '"') {
      const end = stringEnd(json, i);
      colon.lastIndex = end;
      const afterKey = depth === 1 ? colon.exec(json) : null;
      if (afterKey && JSON.parse(json.slice(i, end)) === name) {
        const valueStart = end + afterKey[0].length;
        return json[valueStart] === '{' ? json.slice(valueStart, containerEnd(json, valueStart)) : undefined;
      }
      i = end - 1;
    } else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') depth--;
  }
  return undefined;
}

/** The `nodeName` member of Alipay's answer, only if `sign` verifies over its exact text. */
export function signedNode(body: string, nodeName: string, alipayPublicKey: KeyObject): unknown {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof document !== 'object' || document === null || !('sign' in document) || typeof document.sign !== 'string')
    return undefined;
  const nodeText = topLevelObjectText(body, nodeName);
  if (nodeText === undefined || !rsa2Verify(nodeText, document.sign, alipayPublicKey)) return undefined;
  return JSON.parse(nodeText);
}
