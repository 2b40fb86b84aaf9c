/**
 * Armed refusals: a test or a shop's developer asks the sandbox to refuse the next checkout
 * creation (WeChat prepay, Alipay precreate / create) with one of the provider's real error codes,
 * in its real wire shape (docs/PROVIDERS.md#sandbox-controls). Each code here is one WeChat or
 * Alipay answers for reasons the sandbox cannot otherwise meet (a product not enabled, risk rules,
 * its own outage); the ones it meets by itself (ORDERPAID, ORDER_CLOSED, 201 商户订单号重复,
 * ACQ.TRADE_HAS_SUCCESS…) it still answers from the order's state.
 */

/** WeChat v3 prepay errors (SCENES.md §0): HTTP status and WeChat's message. */
export const WECHAT_PREPAY_ERRORS: Readonly<Record<string, readonly [number, string]>> = {
  NO_AUTH: [403, '商户号该产品权限未开通，请前往商户平台>产品中心检查后重试'],
  OPENID_MISMATCH: [400, 'openid和appid不匹配'],
  RULELIMIT: [403, '业务规则限制'],
  TRADE_ERROR: [403, '交易错误'],
  SYSTEMERROR: [500, '系统错误'],
  FREQUENCY_LIMITED: [429, '频率超限'],
  OUT_TRADE_NO_USED: [403, '商户订单号重复'],
  ORDER_CLOSED: [400, '当前订单已关闭，请重新下单'],
  ORDERPAID: [400, '订单已支付'],
  PARAM_ERROR: [400, '参数错误'],
};

/** Alipay precreate / create answers (SCENES.md §8): code, msg, sub_msg by sub_code. */
export const ALIPAY_CREATE_ERRORS: Readonly<Record<string, readonly [string, string, string]>> = {
  'ACQ.ACCESS_FORBIDDEN': ['40004', 'Business Failed', '无权限使用接口'],
  'ACQ.TRADE_BUYER_NOT_MATCH': ['40004', 'Business Failed', '交易买家不匹配'],
  'ACQ.CONTEXT_INCONSISTENT': ['40004', 'Business Failed', '交易信息被篡改'],
  'ACQ.TRADE_HAS_SUCCESS': ['40004', 'Business Failed', '交易已被支付'],
  'ACQ.TRADE_HAS_CLOSE': ['40004', 'Business Failed', '交易已经关闭'],
  'ACQ.SYSTEM_ERROR': ['40004', 'Business Failed', '系统错误'],
  'aop.ACQ.SYSTEM_ERROR': ['20000', 'Service Currently Unavailable', '系统异常'],
};

interface Armed {
  code: string;
  /** Only for this out_trade_no; any order when absent. */
  paymentId?: string;
  /** Answers left (SYSTEMERROR armed once is met by the merchant's own retry). */
  left: number;
}

export interface RefusalArms {
  /** Arms `code` for the next `times` creations (of `paymentId` only, when given); false for a code this provider has not. */
  arm(code: string, options?: { paymentId?: string; times?: number }): boolean;
  /** The armed code this creation answers with, used up by it; undefined when none is armed for it. */
  take(paymentId: string): string | undefined;
}

export function refusalArms(codes: Readonly<Record<string, unknown>>): RefusalArms {
  const armed: Armed[] = [];
  return {
    arm(code, { paymentId, times = 1 } = {}) {
      if (!Object.hasOwn(codes, code) || !Number.isSafeInteger(times) || times < 1) return false;
      armed.push({ code, left: times, ...(paymentId ? { paymentId } : {}) });
      return true;
    },
    take(paymentId) {
      const index = armed.findIndex((entry) => entry.paymentId === undefined || entry.paymentId === paymentId);
      const entry = armed[index];
      if (!entry) return undefined;
      entry.left -= 1;
      if (entry.left === 0) armed.splice(index, 1);
      return entry.code;
    },
  };
}
