import { createPrivateKey, createPublicKey } from 'node:crypto';
import * as z from 'zod/mini';
import '../core/kernel/zod-english';

const loads = (load: (pem: string) => unknown) => (pem: string) => {
  try {
    load(pem);
    return true;
  } catch {
    return false;
  }
};
/** Checked by loading it, so a broken key is reported by its field at startup, not by a provider call. */
const privatePem = z.string().check(z.refine(loads(createPrivateKey), 'must be a PEM private key'));
const publicPem = z.string().check(z.refine(loads(createPublicKey), 'must be a PEM public key'));

const AppId = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be an app id (1-32 letters, digits, _ -)'));

/**
 * WeChat's scenes and the appid each is bound to (all bound to the same mchid): the official
 * account's for JSAPI, the mini-program's, the Open Platform mobile app's; H5 and Native take the
 * main appid unless H5 names its own. A scene left out is not offered (SCENE_NOT_CONFIGURED).
 */
export const WechatScenesSchema = z
  .object({
    native: z.optional(z.object({})),
    jsapi: z.optional(z.object({ appid: AppId })),
    miniprogram: z.optional(z.object({ appid: AppId })),
    h5: z.optional(
      z.object({
        appid: z.optional(AppId),
        /** scene_info.h5_info.type: Wap for mobile web sites, iOS / Android for an app's H5 page. */
        type: z._default(z.enum(['Wap', 'iOS', 'Android']), 'Wap'),
        appName: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
        appUrl: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
      }),
    ),
    app: z.optional(z.object({ appid: AppId })),
  })
  .check(
    z.refine(
      (scenes) => !scenes.jsapi || !scenes.miniprogram || scenes.jsapi.appid !== scenes.miniprogram.appid,
      'jsapi and miniprogram need their own appids (their payments differ by appid alone)',
    ),
  );

/**
 * Alipay's scenes. Page, wap, app and QR use the application's `appId`; the mini-program names
 * the mini-program's app id (`op_app_id`) and, as the contract requires, its product code.
 */
export const AlipayScenesSchema = z.object({
  page: z.optional(z.object({})),
  wap: z.optional(z.object({})),
  app: z.optional(z.object({})),
  qr: z.optional(z.object({})),
  miniprogram: z.optional(
    z.object({
      appId: AppId,
      productCode: z._default(z.enum(['JSAPI_PAY', 'FACE_TO_FACE_PAYMENT']), 'JSAPI_PAY'),
    }),
  ),
});

/**
 * The provider configuration document (docs/API.md#provider-configuration-document): a Secrets Manager secret in AWS, a JSON file
 * locally. Keys are PEM strings. Several WeChat platform keys (by serial) and several bank
 * webhook secrets may be live at once, for rotation.
 */
export const WechatConfigSchema = z.object({
  mchid: z.string().check(z.minLength(1)),
  appid: z.string().check(z.minLength(1)),
  /** The APIv3 key: exactly 32 bytes, used as the AES-256-GCM key for callback resources. */
  apiV3Key: z.string().check(z.refine((key) => Buffer.byteLength(key, 'utf8') === 32, 'must be 32 bytes')),
  merchantSerial: z.string().check(z.minLength(1)),
  merchantPrivateKey: privatePem,
  platformPublicKeys: z
    .record(z.string().check(z.minLength(1)), publicPem)
    .check(z.refine((keys) => Object.keys(keys).length > 0, 'needs at least one key')),
  apiBase: z.url(),
  /** Without it: Native only, as before scenes. */
  scenes: z._default(WechatScenesSchema, { native: {} }),
});

export const AlipayConfigSchema = z.object({
  appId: z.string().check(z.minLength(1)),
  sellerId: z.optional(z.string().check(z.minLength(1))),
  privateKey: privatePem,
  alipayPublicKey: publicPem,
  gateway: z.url(),
  /** Without it: page and wap, as before scenes. */
  scenes: z._default(AlipayScenesSchema, { page: {}, wap: {} }),
});

export const BankConfigSchema = z.object({
  webhookSecrets: z.array(z.string().check(z.minLength(16))).check(z.minLength(1)),
  gatewayUrl: z.url(),
  signingSecret: z.string().check(z.minLength(16)),
});

export const PaymentsConfigSchema = z.object({
  wechat: z.optional(WechatConfigSchema),
  alipay: z.optional(AlipayConfigSchema),
  bank: z.optional(BankConfigSchema),
});

export type WechatConfig = z.infer<typeof WechatConfigSchema>;
export type WechatScenes = z.infer<typeof WechatScenesSchema>;
export type AlipayConfig = z.infer<typeof AlipayConfigSchema>;
export type AlipayScenes = z.infer<typeof AlipayScenesSchema>;
export type BankConfig = z.infer<typeof BankConfigSchema>;
export type PaymentsConfig = z.infer<typeof PaymentsConfigSchema>;

/**
 * Parses the document, naming the offending field and where the document came from (never a
 * value: these are secrets).
 */
export function parsePaymentsConfig(document: unknown, source?: string): PaymentsConfig {
  const result = PaymentsConfigSchema.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`Invalid payments config: ${source ? `${source}: ` : ''}${problems.join('; ')}`);
  }
  return result.data;
}

/** The document from its JSON text (a secret's value, a file's content). */
export function parsePaymentsConfigText(text: string, source: string): PaymentsConfig {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    // JSON.parse's message quotes the text around the mistake, so neither it nor the error goes
    // on (not even as `cause`, which loggers print): only where the mistake is.
    const position = /at position (\d+)/.exec((error as Error).message)?.[1];
    // eslint-disable-next-line preserve-caught-error -- the caught error holds secret text
    throw new Error(
      `Invalid payments config: ${source} is not valid JSON${position ? ` (at character ${position})` : ''}`,
    );
  }
  return parsePaymentsConfig(document, source);
}
