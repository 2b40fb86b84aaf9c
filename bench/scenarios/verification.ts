import {
  createHmac,
  createCipheriv,
  createDecipheriv,
  createSign,
  createVerify,
  generateKeyPairSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createAlipaySimulator, generateAlipayKeys } from '../../local/sandbox/alipay';
import { createBankSimulator, generateBankKeys } from '../../local/sandbox/bank';
import { createWechatSimulator, generateWechatKeys } from '../../local/sandbox/wechat';
import type { ProviderSimulator } from '../../local/sandbox/types';
import type { Payment, PaymentMethod } from '../../src/domain/payment';
import { createAlipayProvider } from '../../src/providers/alipay';
import { createBankProvider } from '../../src/providers/bank';
import type { PaymentProvider, RawCallback } from '../../src/core/payments/provider';
import { createWechatProvider } from '../../src/providers/wechat';
import { round } from '../common';
import { paidCheckout } from './callbacks';

type Setup = { provider: PaymentProvider; simulator: ProviderSimulator; raw: (callback: RawCallback) => void };

/** The bare operations verification cannot avoid, on a 900-byte message: an RSA-SHA256 verify, an AES-256-GCM open. */
function bareCrypto() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const message = Buffer.from('x'.repeat(900));
  const signature = createSign('sha256').update(message).sign(rsa.privateKey);
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([cipher.update(message), cipher.final()]);
  const tag = cipher.getAuthTag();
  return {
    rsaVerify: () => {
      if (!createVerify('sha256').update(message).verify(rsa.publicKey, signature)) throw new Error('raw rsa');
    },
    aesOpen: () => {
      const d = createDecipheriv('aes-256-gcm', key, iv);
      d.setAuthTag(tag);
      Buffer.concat([d.update(sealed), d.final()]);
    },
  };
}

/** Each provider's merchant module and simulator, with the bare crypto its verification is measured against. */
function setups(base: string): Record<PaymentMethod, Setup> {
  const wechat = generateWechatKeys(`${base}/wechat`);
  const alipay = generateAlipayKeys(`${base}/alipay`);
  const bank = generateBankKeys(`${base}/bank`);
  const fetchNever = async () => {
    throw new Error('no provider calls in the bench');
  };
  const { rsaVerify, aesOpen } = bareCrypto();
  return {
    // WeChat Pay v3: an RSA-SHA256 signature over the body, then AES-256-GCM decryption of the resource.
    wechat: {
      provider: createWechatProvider({ config: wechat.merchant, fetch: fetchNever }),
      simulator: createWechatSimulator(wechat.sandbox),
      raw: () => {
        rsaVerify();
        aesOpen();
      },
    },
    // Alipay: an RSA2 (RSA-SHA256) signature over the sorted form.
    alipay: {
      provider: createAlipayProvider({ config: alipay.merchant, fetch: fetchNever }),
      simulator: createAlipaySimulator(alipay.sandbox),
      raw: rsaVerify,
    },
    // The bank: an HMAC-SHA256 of the same callback, compared in constant time, with one webhook
    // secret configured, as stripe-node's constructEvent takes one (two during a rotation: one HMAC each).
    bank: {
      provider: createBankProvider({
        config: { ...bank.merchant, webhookSecrets: bank.merchant.webhookSecrets.slice(0, 1) },
      }),
      simulator: createBankSimulator(bank.sandbox),
      raw: (callback) => {
        const [, t = '', v1 = ''] = /t=(\d+),v1=([0-9a-f]+)/.exec(callback.headers['bank-signature'] ?? '') ?? [];
        const digest = createHmac('sha256', bank.merchant.webhookSecrets[0]!)
          .update(`${t}.`)
          .update(callback.body)
          .digest();
        if (!timingSafeEqual(digest, Buffer.from(v1, 'hex'))) throw new Error('raw hmac');
      },
    },
  };
}

/** Our verifyCallback per provider against the bare node:crypto operations it cannot avoid. */
export function verification() {
  const now = new Date();
  const payment = {
    paymentId: 'pay_bench',
    amount: 12_800,
    expiresAt: new Date(now.getTime() + 600_000).toISOString(),
  } as Payment;
  const byProvider = setups('http://127.0.0.1:3000/sandbox');
  const perSecond = (run: () => void, ms = 700) => {
    let n = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      run();
      n++;
    }
    return Math.round(n / (ms / 1000));
  };
  return (Object.keys(byProvider) as PaymentMethod[]).map((method) => {
    const { provider, simulator, raw } = byProvider[method];
    const built = simulator.buildCallback(paidCheckout(method, payment, 'evt-bench', now), now)!;
    const callback: RawCallback = {
      headers: Object.fromEntries(Object.entries(built.headers).map(([k, v]) => [k.toLowerCase(), v])),
      body: Buffer.from(built.body),
    };
    if (!provider.verifyCallback(callback, now).ok) throw new Error(`${method}: bench callback did not verify`);
    const ours = perSecond(() => provider.verifyCallback(callback, now));
    const bare = perSecond(() => raw(callback));
    return { provider: method, oursPerSecond: ours, rawCryptoPerSecond: bare, oursOverRaw: round(bare / ours, 2) };
  });
}
