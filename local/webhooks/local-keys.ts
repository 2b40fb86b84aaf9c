import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataKeys } from '../../src/core/webhooks/ports';

/** The local stand-in for the KMS key that wraps the webhook secrets' data keys: 32 random bytes in `.local/`. */
export const WEBHOOK_KEY_FILE = 'webhook-master.key';

/**
 * KMS's GenerateDataKey and Decrypt on this machine: a fresh AES-256 data key, wrapped with
 * AES-256-GCM under the local master key, the encryption context as associated data (a wrapped key
 * opens only with the context it was made for, as with KMS).
 */
export function localDataKeys(masterKey: Uint8Array): DataKeys {
  const aad = (context: Record<string, string>) =>
    Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))));
  return {
    async generateDataKey(context) {
      const plaintext = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', masterKey, iv).setAAD(aad(context));
      const wrapped = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return { plaintext: new Uint8Array(plaintext), wrapped: wrapped.toString('base64') };
    },
    async unwrapDataKey(wrapped, context) {
      const bytes = Buffer.from(wrapped, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', masterKey, bytes.subarray(0, 12))
        .setAAD(aad(context))
        .setAuthTag(bytes.subarray(bytes.length - 16));
      return new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]));
    },
  };
}

/** The local master key, made on first start (readable by its owner only), or random per run for `--fresh`. */
export async function loadOrCreateWebhookKey(dataDir: string | undefined): Promise<Buffer> {
  if (!dataDir) return randomBytes(32);
  const file = join(dataDir, WEBHOOK_KEY_FILE);
  try {
    const key = await readFile(file);
    if (key.length === 32) return key;
    throw new Error(
      `${file} is not a 32-byte key: delete it to make a new one (the registered endpoints' secrets are then lost)`,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  await writeFile(file, key, { mode: 0o600 });
  return key;
}
