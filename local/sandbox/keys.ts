import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { parsePaymentsConfig, type PaymentsConfig } from '../../src/providers/config';
import type { ProviderName } from '../../src/core/payments/provider';
import { generateAlipayKeys, type AlipaySandboxKeys } from './alipay';
import { SANDBOX_ALIPAY_SCENES, SANDBOX_WECHAT_SCENES } from './scenes';
import { generateBankKeys, type BankSandboxKeys } from './bank';
import { generateWechatKeys } from './wechat';
import type { WechatSandboxKeys } from './wechat-signing';

/**
 * Keys for a local run. The merchant half is the ordinary payments config document (docs/API.md#provider-configuration-document), whose
 * endpoints point at this machine's sandbox; the provider half (the private keys WeChat and Alipay
 * would hold, the bank's secrets) lives in a file of its own, because the merchant side must never
 * be handed it. Both are generated once and reused, so callbacks signed before a restart still verify.
 */

export const PAYMENTS_CONFIG_FILE = 'payments-config.json';
export const SANDBOX_KEYS_FILE = 'sandbox-keys.json';

/** What the sandbox signs and checks with; a provider without keys is simply not served. */
export interface SandboxKeys {
  wechat?: WechatSandboxKeys;
  alipay?: AlipaySandboxKeys;
  bank?: BankSandboxKeys;
}

export interface LocalSandboxKeys {
  /** The merchant config document, as written to `configPath`. */
  config: PaymentsConfig;
  configPath: string;
  sandboxKeys: SandboxKeys;
}

const WechatSandboxKeysSchema = z.object({
  mchid: z.string().min(1),
  appid: z.string().min(1),
  apiV3Key: z.string().min(1),
  merchantSerial: z.string().min(1),
  merchantPublicKey: z.string().min(1),
  platformSerial: z.string().min(1),
  platformPrivateKey: z.string().min(1),
}) satisfies z.ZodType<WechatSandboxKeys>;

const AlipaySandboxKeysSchema = z.object({
  appId: z.string().min(1),
  sellerId: z.string().min(1).optional(),
  appPublicKey: z.string().min(1),
  alipayPrivateKey: z.string().min(1),
}) satisfies z.ZodType<AlipaySandboxKeys>;

const BankSandboxKeysSchema = z.object({
  webhookSecrets: z.array(z.string().min(1)).min(1),
  signingSecret: z.string().min(1),
}) satisfies z.ZodType<BankSandboxKeys>;

/** The file always holds all three: they are generated together. */
const StoredSandboxKeysSchema = z.object({
  wechat: WechatSandboxKeysSchema,
  alipay: AlipaySandboxKeysSchema,
  bank: BankSandboxKeysSchema,
});
type StoredSandboxKeys = z.infer<typeof StoredSandboxKeysSchema>;

interface Generation {
  config: PaymentsConfig;
  sandboxKeys: StoredSandboxKeys;
}

function providerBaseUrl(publicBaseUrl: string, provider: ProviderName): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/sandbox/${provider}`;
}

function generate(publicBaseUrl: string): Generation {
  const wechat = generateWechatKeys(providerBaseUrl(publicBaseUrl, 'wechat'));
  const alipay = generateAlipayKeys(providerBaseUrl(publicBaseUrl, 'alipay'));
  const bank = generateBankKeys(providerBaseUrl(publicBaseUrl, 'bank'));
  return {
    config: { wechat: wechat.merchant, alipay: alipay.merchant, bank: bank.merchant },
    sandboxKeys: { wechat: wechat.sandbox, alipay: alipay.sandbox, bank: bank.sandbox },
  };
}

/** Parsed JSON of a file, or undefined when the file does not exist. */
async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${path} is not JSON; delete it to generate new sandbox keys`);
  }
}

async function readGeneration(configPath: string, keysPath: string): Promise<Generation | undefined> {
  const [configDocument, keysDocument] = await Promise.all([readJson(configPath), readJson(keysPath)]);
  if (configDocument === undefined || keysDocument === undefined) return undefined;
  const keys = StoredSandboxKeysSchema.safeParse(keysDocument);
  if (!keys.success) {
    // Field paths only: the values are secrets.
    const fields = keys.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new Error(`${keysPath} is invalid (${fields}); delete it to generate new sandbox keys`);
  }
  return { config: parsePaymentsConfig(configDocument), sandboxKeys: keys.data };
}

/**
 * Both files come from one generation: the random secrets both halves share agree. A run that
 * stopped between writing the two files leaves a mismatched pair, which only a new one repairs.
 */
function isOnePair({ config, sandboxKeys }: Generation): boolean {
  return (
    config.wechat?.apiV3Key === sandboxKeys.wechat.apiV3Key &&
    config.bank?.signingSecret === sandboxKeys.bank.signingSecret &&
    config.alipay?.appId === sandboxKeys.alipay.appId
  );
}

/** The same provider URL under another base (another port): what follows `/sandbox/<provider>` is kept. */
function rebase(url: string, publicBaseUrl: string, provider: ProviderName): string | undefined {
  const marker = `/sandbox/${provider}`;
  const at = url.lastIndexOf(marker);
  return at < 0 ? undefined : `${providerBaseUrl(publicBaseUrl, provider)}${url.slice(at + marker.length)}`;
}

/** The config with its endpoints under `publicBaseUrl`, or undefined when they are not sandbox URLs. */
function rebasedConfig(config: PaymentsConfig, publicBaseUrl: string): PaymentsConfig | undefined {
  const { wechat, alipay, bank } = config;
  if (!wechat || !alipay || !bank) return undefined;
  const apiBase = rebase(wechat.apiBase, publicBaseUrl, 'wechat');
  const gateway = rebase(alipay.gateway, publicBaseUrl, 'alipay');
  const gatewayUrl = rebase(bank.gatewayUrl, publicBaseUrl, 'bank');
  if (!apiBase || !gateway || !gatewayUrl) return undefined;
  // A config generated before scenes gets the sandbox's: every scene, with the appids it knows.
  return {
    wechat: { ...wechat, apiBase, scenes: SANDBOX_WECHAT_SCENES },
    alipay: { ...alipay, gateway, scenes: SANDBOX_ALIPAY_SCENES },
    bank: { ...bank, gatewayUrl },
  };
}

/** Owner-only, and never half-written: a temporary file renamed over the old one. */
async function writeSecretJson(path: string, document: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  // 'wx' creates the file, so `mode` applies (it is ignored when a file is overwritten).
  await rm(temporary, { force: true });
  await writeFile(temporary, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
}

/**
 * Reads `<dir>/payments-config.json` and `<dir>/sandbox-keys.json`, generating both on the first
 * start (or when they do not form a pair). When `publicBaseUrl` changed since (another port), the
 * endpoints are rewritten and the keys kept.
 */
export async function loadOrCreateSandboxKeys(dir: string, publicBaseUrl: string): Promise<LocalSandboxKeys> {
  const configPath = join(dir, PAYMENTS_CONFIG_FILE);
  const keysPath = join(dir, SANDBOX_KEYS_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const stored = await readGeneration(configPath, keysPath);
  const rebased = stored && isOnePair(stored) ? rebasedConfig(stored.config, publicBaseUrl) : undefined;
  if (stored && rebased) {
    if (JSON.stringify(rebased) !== JSON.stringify(stored.config)) await writeSecretJson(configPath, rebased);
    return { config: rebased, configPath, sandboxKeys: stored.sandboxKeys };
  }

  const fresh = generate(publicBaseUrl);
  // A stop between these two writes leaves a mismatched pair: isOnePair replaces it next start.
  await writeSecretJson(keysPath, fresh.sandboxKeys);
  await writeSecretJson(configPath, fresh.config);
  return { config: fresh.config, configPath, sandboxKeys: fresh.sandboxKeys };
}
