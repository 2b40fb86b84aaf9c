import { createDecipheriv, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import type { WechatConfig } from '../config';
import { type RejectionReason } from '../../core/payments/provider';
import { refuse } from '../kit/replies';
import {
  type WechatCallbackEnvelope,
  WECHAT_REPLAY_WINDOW_SECONDS,
  WECHAT_SIGNATURE_TYPE,
  WECHAT_SIGNTEST_PREFIX,
} from './wire';

/** The `Wechatpay-*` headers that sign a callback or an answer, as received. */
export interface WechatpayHeaders {
  timestamp: unknown;
  nonce: unknown;
  signature: unknown;
  serial: unknown;
  signatureType: unknown;
}

type Refusal = { ok: false; reason: RejectionReason; detail: string };

/** A header value we can read: some runtimes hand over arrays or nothing; neither is a value. */
function isPresent(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** Canonical base64 only: a non-canonical spelling of the same bytes is not the signature sent. */
function decodeBase64Strict(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.length > 0 && bytes.toString('base64') === text ? bytes : undefined;
}

/** `${timestamp}\n${nonce}\n${body}\n` over the body's raw bytes (never re-encoded). */
function signedMessage(timestamp: string, nonce: string, rawBody: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), rawBody, Buffer.from('\n', 'utf8')]);
}

/**
 * Order of checks: headers present, SIGNTEST probe (before any crypto, so probes are counted
 * apart), key by serial, signature, then the replay window. Checking the signature before the
 * window means 'stale_timestamp' is only reported for a genuine WeChat message (a late retry or
 * a replay), which is worth telling apart from a forgery.
 */
export function verifyWechatpaySignature(
  headers: WechatpayHeaders,
  rawBody: Buffer,
  platformKeys: ReadonlyMap<string, KeyObject>,
  now: Date,
): { ok: true } | Refusal {
  const { timestamp, nonce, signature, serial, signatureType } = headers;
  if (!isPresent(timestamp) || !isPresent(nonce) || !isPresent(signature) || !isPresent(serial)) {
    return refuse('malformed', 'missing Wechatpay-Timestamp, -Nonce, -Signature or -Serial header');
  }
  if (signatureType !== undefined && signatureType !== WECHAT_SIGNATURE_TYPE) {
    return refuse('malformed', 'Wechatpay-Signature-Type is not WECHATPAY2-SHA256-RSA2048');
  }
  if (!/^\d{1,12}$/.test(timestamp)) return refuse('malformed', 'Wechatpay-Timestamp is not unix seconds');
  if (signature.startsWith(WECHAT_SIGNTEST_PREFIX))
    return refuse('signature_probe', 'WeChat signature probe (WECHATPAY/SIGNTEST/)');

  const key = platformKeys.get(serial);
  if (!key) return refuse('unknown_key', 'Wechatpay-Serial names no configured platform key');
  const signatureBytes = decodeBase64Strict(signature);
  if (!signatureBytes || !verify('sha256', signedMessage(timestamp, nonce, rawBody), key, signatureBytes)) {
    return refuse('bad_signature', 'Wechatpay-Signature does not verify with the platform key');
  }

  const offsetSeconds = Number(timestamp) - Math.floor(now.getTime() / 1000);
  if (Math.abs(offsetSeconds) > WECHAT_REPLAY_WINDOW_SECONDS) {
    return refuse('stale_timestamp', `signed ${offsetSeconds} s from now, window ${WECHAT_REPLAY_WINDOW_SECONDS} s`);
  }
  return { ok: true };
}

const GCM_TAG_BYTES = 16;

/** AES-256-GCM open of a callback resource; undefined when it does not authenticate. */
export function decryptResource(apiV3Key: string, resource: WechatCallbackEnvelope['resource']): string | undefined {
  const sealed = decodeBase64Strict(resource.ciphertext);
  if (!sealed || sealed.length <= GCM_TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      Buffer.from(apiV3Key, 'utf8'),
      Buffer.from(resource.nonce, 'utf8'),
      {
        authTagLength: GCM_TAG_BYTES,
      },
    );
    decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
    decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
    return Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    // Wrong key, wrong IV or AAD, tampered ciphertext: all the same to us.
    return undefined;
  }
}

/** A random nonce_str: 32 hex characters. */
function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The Authorization header for a request: RSA-SHA256 with the merchant key over
 * `METHOD\nURL\ntimestamp\nnonce\nbody\n`, URL being the path from `/v3` on plus the query string.
 */
export function authorization(
  config: WechatConfig,
  merchantKey: KeyObject,
  method: string,
  signedUrl: string,
  body: string,
  now: Date,
): string {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const nonce = newNonce();
  const message = `${method}\n${signedUrl}\n${timestamp}\n${nonce}\n${body}\n`;
  const signature = sign('sha256', Buffer.from(message, 'utf8'), merchantKey).toString('base64');
  return (
    `${WECHAT_SIGNATURE_TYPE} mchid="${config.mchid}",nonce_str="${nonce}",signature="${signature}",` +
    `timestamp="${timestamp}",serial_no="${config.merchantSerial}"`
  );
}
