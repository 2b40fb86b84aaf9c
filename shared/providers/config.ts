import { z } from 'zod';

/**
 * The provider configuration document (docs/API.md#provider-configuration-document): a Secrets Manager secret in AWS, a JSON file
 * locally. Keys are PEM strings. Several WeChat platform keys (by serial) and several bank
 * webhook secrets may be live at once, for rotation.
 */
const pem = z.string().includes('-----BEGIN', { message: 'must be a PEM string' });

export const WechatConfigSchema = z.object({
  mchid: z.string().min(1),
  appid: z.string().min(1),
  /** The APIv3 key: exactly 32 bytes, used as the AES-256-GCM key for callback resources. */
  apiV3Key: z.string().refine((key) => Buffer.byteLength(key, 'utf8') === 32, 'must be 32 bytes'),
  merchantSerial: z.string().min(1),
  merchantPrivateKey: pem,
  platformPublicKeys: z.record(z.string().min(1), pem).refine((keys) => Object.keys(keys).length > 0, 'needs at least one key'),
  apiBase: z.url(),
});

export const AlipayConfigSchema = z.object({
  appId: z.string().min(1),
  sellerId: z.string().min(1).optional(),
  privateKey: pem,
  alipayPublicKey: pem,
  gateway: z.url(),
});

export const BankConfigSchema = z.object({
  webhookSecrets: z.array(z.string().min(16)).min(1),
  gatewayUrl: z.url(),
  signingSecret: z.string().min(16),
});

export const PaymentsConfigSchema = z.object({
  wechat: WechatConfigSchema.optional(),
  alipay: AlipayConfigSchema.optional(),
  bank: BankConfigSchema.optional(),
});

export type WechatConfig = z.infer<typeof WechatConfigSchema>;
export type AlipayConfig = z.infer<typeof AlipayConfigSchema>;
export type BankConfig = z.infer<typeof BankConfigSchema>;
export type PaymentsConfig = z.infer<typeof PaymentsConfigSchema>;

/** Parses the document, naming the offending field (never its value: these are secrets). */
export function parsePaymentsConfig(document: unknown): PaymentsConfig {
  const result = PaymentsConfigSchema.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`Invalid payments config: ${problems.join('; ')}`);
  }
  return result.data;
}
