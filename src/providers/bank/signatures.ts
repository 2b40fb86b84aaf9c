import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { BankConfig } from '../config';
import { type BankPayParams, BANK_TOLERANCE_SECONDS } from './wire';

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/** The configuration with its webhook secrets as key objects, made once: createHmac would otherwise
 * encode a string key on every call. */
export interface KeyedBankConfig extends BankConfig {
  webhookKeys: readonly KeyObject[];
}

/** HMAC-SHA256 over `${t}.` followed by the raw body bytes (never re-encoded through a string). */
function callbackDigest(key: KeyObject, timestamp: string, rawBody: Buffer): Buffer {
  return createHmac('sha256', key).update(`${timestamp}.`).update(rawBody).digest();
}

interface SignatureHeader {
  timestamp: string;
  /** The v1 values that are digests at all, decoded once; a garbled one is kept out, as it can match nothing. */
  digests: Buffer[];
}

const HEADER_ELEMENT = /^(t|v\d+)=([^,=\s]+)$/;
/** The header as the bank sends it outside a rotation: one t, then one well-formed v1. */
const SINGLE_SIGNATURE_HEADER = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/i;

/**
 * Strict parse of `t=<digits>,v1=<value>[,v1=<value>...]`: elements in any order, exactly one `t`,
 * at least one `v1`. Other `v<n>=` schemes are skipped (as Stripe skips v0) so a future scheme can
 * be added by the bank without breaking us. A v1 value that is not 64 hex digits (either case)
 * still counts as a v1: a garbled signature is a bad signature, not a malformed request. The hex
 * check matters: Buffer.from(hex) silently drops a non-hex tail.
 */
export function parseBankSignatureHeader(header: string): SignatureHeader | undefined {
  // The usual header in one match: the same result as the element-wise reading below, without its split and matches.
  const single = SINGLE_SIGNATURE_HEADER.exec(header);
  if (single) return { timestamp: single[1] ?? '', digests: [Buffer.from(single[2] ?? '', 'hex')] };
  const timestamps: string[] = [];
  const digests: Buffer[] = [];
  let hasV1 = false;
  for (const element of header.trim().split(',')) {
    const match = HEADER_ELEMENT.exec(element);
    if (!match) return undefined;
    const [, key, value = ''] = match;
    if (key === 't') timestamps.push(value);
    else if (key === 'v1') {
      hasV1 = true;
      if (HEX_SHA256.test(value)) digests.push(Buffer.from(value, 'hex'));
    }
  }
  const [timestamp] = timestamps;
  if (timestamps.length !== 1 || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return undefined;
  if (!hasV1) return undefined;
  return { timestamp, digests };
}

export function signatureMatches(keys: readonly KeyObject[], header: SignatureHeader, rawBody: Buffer): boolean {
  // Every pair is tried (no early exit) so timing does not reveal which secret or position matched;
  // each comparison is constant-time (the decoded v1 values are all 32 bytes, as the digest).
  let matched = false;
  for (const key of keys) {
    const expected = callbackDigest(key, header.timestamp, rawBody);
    for (const candidate of header.digests) matched = timingSafeEqual(candidate, expected) || matched;
  }
  return matched;
}

/**
 * The pay-URL signing string: every parameter except `signature`, sorted by key (code-unit
 * order), `key=value` joined by `&`, with raw (not URL-encoded) values. The signature is the hex
 * HMAC-SHA256 of that string with `signingSecret`.
 */
function bankPayParamsSigningString(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

export function signPayParams(params: BankPayParams, signingSecret: string): string {
  return createHmac('sha256', signingSecret)
    .update(bankPayParamsSigningString({ ...params }))
    .digest('hex');
}

/** The bank's answer to an API request is signed like a webhook: same header, secrets and window. */
export function answerSigned(config: KeyedBankConfig, header: string | null, rawBody: Buffer, now: Date): boolean {
  const parsed = header === null ? undefined : parseBankSignatureHeader(header);
  if (!parsed || !signatureMatches(config.webhookKeys, parsed, rawBody)) return false;
  return Math.abs(Math.floor(now.getTime() / 1000) - Number(parsed.timestamp)) <= BANK_TOLERANCE_SECONDS;
}

/** `Bank-Signature` of a request to the bank: HMAC-SHA256(signingSecret, `${t}.${METHOD}.${path}.${rawBody}`). */
export function requestSignature(signingSecret: string, method: string, path: string, body: string, now: Date): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  return `t=${timestamp},v1=${createHmac('sha256', signingSecret).update(`${timestamp}.${method}.${path}.${body}`).digest('hex')}`;
}
