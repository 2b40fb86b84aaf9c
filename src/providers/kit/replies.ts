import type { CallbackVerification, ProviderReply, RejectionReason } from '../../core/payments/provider';

/** The replies and refusals every provider module writes, in one place (docs/PROVIDERS.md#the-provider-interface). */

/** An HTTP reply with a JSON body (WeChat's and the bank's acknowledgements and failures). */
export function jsonReply(statusCode: number, body: unknown): ProviderReply {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** An HTTP reply with a plain-text body (Alipay's `success` / `fail`). */
export function textReply(statusCode: number, body: string): ProviderReply {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

/** A callback we do not accept, with the reason it is counted under. */
export function refuse(reason: RejectionReason, detail: string): Extract<CallbackVerification, { ok: false }> {
  return { ok: false, reason, detail };
}
