/**
 * A WeChat Pay `ALL` trade bill for 2026-11-25, written out by hand in WeChat's format (not
 * produced by the sandbox), with the quirks a real file has: a BOM, CRLF line ends, a backtick
 * before every field, fees with 5 decimals, a comma inside a product name, a coupon (应结订单金额
 * below 订单金额), a revoked payment, refunds in each 退款状态 and a merchant-platform refund whose
 * 商户退款单号 is WeChat's own number.
 */

export const WECHAT_BILL_HEADER =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';

export const WECHAT_BILL_DATA = [
  // 123.45 paid; a comma in 商品名称.
  '`2026-11-25 11:59:30,`wx8888888888888888,`1900000001,`0,`,`4200000000202611250000000001,`pay_000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`123.45,`0.00,`0,`0,`0.00,`0.00,`,`,`Tea, green 500g,`,`0.74070,`0.60%,`123.45,`0.00,`',
  // 100.00 ordered, 10.00 of it by a merchant coupon: 应结订单金额 90.00.
  '`2026-11-25 12:10:00,`wx8888888888888888,`1900000001,`0,`,`4200000000202611250000000002,`pay_000002,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`CMB_CREDIT,`CNY,`90.00,`10.00,`0,`0,`0.00,`0.00,`,`,`Order ord_2,`,`0.54000,`0.60%,`100.00,`0.00,`',
  // Paid then revoked by WeChat.
  '`2026-11-25 13:00:00,`wx8888888888888888,`1900000001,`0,`,`4200000000202611250000000003,`pay_000003,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`REVOKED,`OTHERS,`CNY,`8.00,`0.00,`0,`0,`0.00,`0.00,`,`,`Order ord_3,`,`0.04800,`0.60%,`8.00,`0.00,`',
  '`2026-11-25 12:01:02,`wx8888888888888888,`1900000001,`0,`,`4200000000202611250000000001,`pay_000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50000000382019052709732678859,`ref_000001,`23.45,`0.00,`ORIGINAL,`SUCCESS,`Tea, green 500g,`,`-0.14070,`0.60%,`0.00,`23.45,`',
  // 10.00 asked, 9.00 of it settlement money (the coupon's share is not given back in cash).
  '`2026-11-25 14:00:00,`wx8888888888888888,`1900000001,`0,`,`4200000000202611250000000002,`pay_000002,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`CMB_CREDIT,`CNY,`0.00,`0.00,`50000000382019052709732678860,`ref_000002,`9.00,`0.00,`ORIGINAL,`PROCESSING,`Order ord_2,`,`-0.05400,`0.60%,`0.00,`10.00,`',
  '`2026-11-25 14:30:00,`wx8888888888888888,`1900000001,`0,`,`4200000000202611250000000002,`pay_000002,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`CMB_CREDIT,`CNY,`0.00,`0.00,`50000000382019052709732678861,`ref_000003,`1.00,`0.00,`ORIGINAL,`REFUNDCLOSE,`Order ord_2,`,`-0.00600,`0.60%,`0.00,`1.00,`',
  // Made on the merchant platform: 商户退款单号 is WeChat's number; the card was gone (CHANGE).
  '`2026-11-25 23:59:59,`wx8888888888888888,`1900000001,`0,`,`4200000000202611250000000001,`pay_000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000382019052709732678862,`50300000382019052709732678862,`5.00,`0.00,`ORIGINAL,`CHANGE,`Tea, green 500g,`,`-0.03000,`0.60%,`0.00,`5.00,`',
];

export const WECHAT_BILL_SUMMARY_HEADER =
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';
export const WECHAT_BILL_SUMMARY = '`7,`221.45,`38.45,`0.00,`1.09800,`231.45,`39.45';
/** The same summary with the count written as a decimal, as in wechatpay-axios-plugin's bill fixture (`tests/fixtures/bill.ALL.csv`: `` `45.0 ``). */
export const WECHAT_BILL_SUMMARY_DECIMAL_COUNT = '`7.0,`221.45,`38.45,`0.00,`1.09800,`231.45,`39.45';

/** The file's text as decoded from its bytes (BOM included), lines joined with CRLF. */
export function wechatBillText(
  parts: { header?: string; data?: readonly string[]; summaryHeader?: string; summary?: string } = {},
): string {
  const lines = [
    parts.header ?? WECHAT_BILL_HEADER,
    ...(parts.data ?? WECHAT_BILL_DATA),
    parts.summaryHeader ?? WECHAT_BILL_SUMMARY_HEADER,
    parts.summary ?? WECHAT_BILL_SUMMARY,
  ];
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** Every line split at its commas (backticks kept), for tests that move or drop a column. */
export function mapColumns(transform: (fields: string[]) => string[]): { header: string; data: string[] } {
  // Product names hold commas: split data lines where a backticked field starts.
  const splitData = (line: string) => line.split(/,(?=`)/);
  return {
    header: transform(WECHAT_BILL_HEADER.split(',')).join(','),
    data: WECHAT_BILL_DATA.map((line) => transform(splitData(line)).join(',')),
  };
}
