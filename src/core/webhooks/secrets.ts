import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataKeys } from './ports';

/**
 * Signing secrets: `whsec_` + base64 of 32 random bytes (Standard Webhooks), kept only sealed
 * (envelope encryption): a data key from DataKeys encrypts the secret with AES-256-GCM, and the
 * stored form holds the data key wrapped under the master key, never the key or the secret in
 * clear. The endpoint id is the KMS encryption context and the GCM associated data, so a sealed
 * secret copied onto another endpoint does not open.
 */
export const SECRET_PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

interface Envelope {
  v: 1;
  key: string;
  iv: string;
  data: string;
  tag: string;
}

const contextOf = (endpointId: string) => ({ webhookEndpoint: endpointId });

export async function sealSecret(keys: DataKeys, endpointId: string, secret: string): Promise<string> {
  const { plaintext, wrapped } = await keys.generateDataKey(contextOf(endpointId));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', plaintext, iv).setAAD(Buffer.from(endpointId));
  const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  plaintext.fill(0);
  const envelope: Envelope = {
    v: 1,
    key: wrapped,
    iv: iv.toString('base64'),
    data: data.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
  return Buffer.from(JSON.stringify(envelope)).toString('base64');
}

export async function openSecret(keys: DataKeys, endpointId: string, sealed: string): Promise<string> {
  const envelope = JSON.parse(Buffer.from(sealed, 'base64').toString('utf8')) as Envelope;
  const dataKey = await keys.unwrapDataKey(envelope.key, contextOf(endpointId));
  const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(envelope.iv, 'base64'))
    .setAAD(Buffer.from(endpointId))
    .setAuthTag(Buffer.from(envelope.tag, 'base64'));
  const secret = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString(
    'utf8',
  );
  dataKey.fill(0);
  return secret;
}

/** Opened secrets kept per container: one key-service call per secret and container, not per attempt. */
const OPENED_TTL_MS = 10 * 60_000;
const MAX_OPENED = 256;
const opened = new Map<string, { secret: string; until: number }>();

/** A sealed secret opened, from this container's cache when it was opened within the last ten minutes. */
export async function openSecretCached(keys: DataKeys, endpointId: string, sealed: string): Promise<string> {
  const cacheKey = `${endpointId}|${sealed}`;
  const hit = opened.get(cacheKey);
  if (hit && hit.until > Date.now()) return hit.secret;
  const secret = await openSecret(keys, endpointId, sealed);
  if (opened.size >= MAX_OPENED) opened.delete(opened.keys().next().value!);
  opened.set(cacheKey, { secret, until: Date.now() + OPENED_TTL_MS });
  return secret;
}
