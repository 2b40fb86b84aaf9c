import type { Payer, PayerField } from '../domain/scene';

/**
 * The token claims that carry a payer's ids (docs/API.md#payer-ids). A shop's identity provider
 * puts them there after its server-side code exchange (WeChat's oauth2/access_token or
 * jscode2session, Alipay's auth code): a claim wins over an id in the request body, which any
 * client can write. The claim names are configuration: PAYER_OPENID_CLAIM, PAYER_ALIPAY_OPEN_ID_CLAIM.
 */
export type PayerClaimNames = Readonly<Record<PayerField, string>>;

export const DEFAULT_PAYER_CLAIMS: PayerClaimNames = { openid: 'wechat_openid', alipayOpenId: 'alipay_open_id' };

export function payerClaimNamesFromEnv(env: NodeJS.ProcessEnv = process.env): PayerClaimNames {
  return {
    openid: env.PAYER_OPENID_CLAIM || DEFAULT_PAYER_CLAIMS.openid,
    alipayOpenId: env.PAYER_ALIPAY_OPEN_ID_CLAIM || DEFAULT_PAYER_CLAIMS.alipayOpenId,
  };
}

/** The payer ids the token's claims (as text, as API Gateway hands them over) carry. */
export function payerFromClaims(claims: Readonly<Record<string, unknown>>, names: PayerClaimNames): Payer {
  const text = (name: string) => {
    const value = claims[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const openid = text(names.openid);
  const alipayOpenId = text(names.alipayOpenId);
  return { ...(openid ? { openid } : {}), ...(alipayOpenId ? { alipayOpenId } : {}) };
}
