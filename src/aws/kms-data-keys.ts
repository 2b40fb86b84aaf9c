import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { DataKeys } from '../core/webhooks/ports';
import { AWS_CLIENT_LIMITS } from './aws-client-limits';
import { requiredEnv } from './env';

/**
 * The webhook secrets' envelope keys from KMS: GenerateDataKey (AES-256) when a secret is made,
 * Decrypt when the deliverer opens one, both bound to the endpoint by the encryption context (a
 * wrapped key copied onto another endpoint does not decrypt, and CloudTrail names the endpoint).
 */
export function kmsDataKeys(client: KMSClient, keyId: string): DataKeys {
  return {
    async generateDataKey(context) {
      const { Plaintext, CiphertextBlob } = await client.send(
        new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }),
      );
      if (!Plaintext || !CiphertextBlob) throw new Error('KMS returned no data key');
      return { plaintext: Plaintext, wrapped: Buffer.from(CiphertextBlob).toString('base64') };
    },
    async unwrapDataKey(wrapped, context) {
      const { Plaintext } = await client.send(
        new DecryptCommand({
          KeyId: keyId,
          CiphertextBlob: Buffer.from(wrapped, 'base64'),
          EncryptionContext: context,
        }),
      );
      if (!Plaintext) throw new Error('KMS returned no plaintext');
      return Plaintext;
    },
  };
}

/** A function's `webhookKeys` capability (wiring.ts): the key WEBHOOK_KEY_ARN. */
export function webhookKeys(env: NodeJS.ProcessEnv): DataKeys {
  return kmsDataKeys(new KMSClient(AWS_CLIENT_LIMITS), requiredEnv('WEBHOOK_KEY_ARN', env));
}
