import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CheckoutStore, SandboxCheckout, SandboxResponse } from '../../../local/sandbox/types';
import { createWechatSimulator, generateWechatKeys } from '../../../local/sandbox/wechat';
import { BillFormatError, type BillRow } from '../../../src/domain/bill';
import { ProviderCallError } from '../../../src/core/payments/provider';
import { createWechatProvider, parseWechatBill } from '../../../src/providers/wechat';
import { memoryCheckoutStore } from '../../support/bank-fixtures';
import {
  WECHAT_BILL_DATA,
  WECHAT_BILL_HEADER,
  WECHAT_BILL_SUMMARY,
  WECHAT_BILL_SUMMARY_DECIMAL_COUNT,
  mapColumns,
  wechatBillText,
} from '../../support/bills/wechat-bill';
import {
  WECHAT_SANDBOX_BASE,
  platformSigner,
  rsaPemPair,
  seconds,
  signedSimulatorGet,
  simulatorFetch,
  wechatpayHeaders,
  type SentRequest,
} from '../../support/wechat-fixtures';

// RSA key generation is the slow part: once per file.
const { merchant, sandbox } = generateWechatKeys(WECHAT_SANDBOX_BASE);
const otherMerchant = rsaPemPair();

const DATE = '2026-11-25';

async function billError(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('parseWechatBill', () => {
  const bill = parseWechatBill(wechatBillText(), DATE);
  const row = (index: number) => bill.rows[index];

  it('reads every line of a real-format ALL bill into normalised rows', () => {
    expect(bill.provider).toBe('wechat');
    expect(bill.date).toBe(DATE);
    expect(bill.rows).toEqual<BillRow[]>([
      {
        kind: 'payment',
        paymentId: 'pay_000001',
        providerTransactionId: '4200000000202611250000000001',
        amount: 12_345,
        status: 'succeeded',
        finishedAt: '2026-11-25T03:59:30.000Z',
        providerStatus: 'SUCCESS',
      },
      {
        kind: 'payment',
        paymentId: 'pay_000002',
        providerTransactionId: '4200000000202611250000000002',
        amount: 10_000,
        status: 'succeeded',
        finishedAt: '2026-11-25T04:10:00.000Z',
        providerStatus: 'SUCCESS',
      },
      {
        kind: 'payment',
        paymentId: 'pay_000003',
        providerTransactionId: '4200000000202611250000000003',
        amount: 800,
        status: 'reversed',
        finishedAt: '2026-11-25T05:00:00.000Z',
        providerStatus: 'REVOKED',
      },
      {
        kind: 'refund',
        refundId: 'ref_000001',
        paymentId: 'pay_000001',
        providerTransactionId: '4200000000202611250000000001',
        providerRefundId: '50000000382019052709732678859',
        amount: 2_345,
        status: 'succeeded',
        finishedAt: '2026-11-25T04:01:02.000Z',
        providerStatus: 'SUCCESS',
      },
      {
        kind: 'refund',
        refundId: 'ref_000002',
        paymentId: 'pay_000002',
        providerTransactionId: '4200000000202611250000000002',
        providerRefundId: '50000000382019052709732678860',
        amount: 1_000,
        status: 'processing',
        finishedAt: '2026-11-25T06:00:00.000Z',
        providerStatus: 'PROCESSING',
      },
      {
        kind: 'refund',
        refundId: 'ref_000003',
        paymentId: 'pay_000002',
        providerTransactionId: '4200000000202611250000000002',
        providerRefundId: '50000000382019052709732678861',
        amount: 100,
        status: 'failed',
        finishedAt: '2026-11-25T06:30:00.000Z',
        providerStatus: 'REFUNDCLOSE',
      },
      {
        kind: 'refund',
        refundId: '50300000382019052709732678862',
        paymentId: 'pay_000001',
        providerTransactionId: '4200000000202611250000000001',
        providerRefundId: '50300000382019052709732678862',
        amount: 500,
        status: 'failed',
        finishedAt: '2026-11-25T15:59:59.000Z',
        providerStatus: 'CHANGE',
      },
    ]);
  });

  it('takes a payment from 订单金额 (what the order came to), not 应结订单金额 (less a coupon)', () => {
    expect(row(1)).toMatchObject({ paymentId: 'pay_000002', amount: 10_000 });
  });

  it('takes a refund from 申请退款金额 (what was asked), not 退款金额 (its settlement part)', () => {
    expect(row(4)).toMatchObject({ refundId: 'ref_000002', amount: 1_000 });
  });

  it('totals the rows (payments, their amount, refunds asked) once the summary agrees with them', () => {
    expect(bill.totals).toEqual({ paymentCount: 3, paymentAmount: 23_145, refundAmount: 3_945 });
  });

  it('reads the same rows whatever the order of the columns (located by name)', () => {
    const reversed = mapColumns((fields) => [...fields].reverse());
    const moved = parseWechatBill(wechatBillText(reversed), DATE);
    expect(moved.rows).toEqual(bill.rows);
  });

  it('reads a file without BOM and with LF line ends alike', () => {
    const plain = wechatBillText()
      .replace(/^\uFEFF/, '')
      .replaceAll('\r\n', '\n');
    expect(parseWechatBill(plain, DATE).rows).toEqual(bill.rows);
  });

  it('reads a day without lines as an empty bill', () => {
    const empty = parseWechatBill(
      wechatBillText({ data: [], summary: '`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00' }),
      DATE,
    );
    expect(empty.rows).toEqual([]);
    expect(empty.totals).toEqual({ paymentCount: 0, paymentAmount: 0, refundAmount: 0 });
  });

  it.each(['商户订单号', '微信订单号', '交易状态', '交易时间', '申请退款金额', '商户退款单号', '退款状态', '货币种类'])(
    'fails with BillFormatError naming a missing required column: %s',
    async (name) => {
      const index = WECHAT_BILL_HEADER.split(',').indexOf(name);
      const dropped = mapColumns((fields) => fields.filter((_, position) => position !== index));
      const error = await billError(() => parseWechatBill(wechatBillText(dropped), DATE));
      expect(error).toBeInstanceOf(BillFormatError);
      expect((error as Error).message).toContain(name);
    },
  );

  it('without 订单金额, takes 应结订单金额 when no coupon was used, and refuses to guess when one was', () => {
    const index = WECHAT_BILL_HEADER.split(',').indexOf('订单金额');
    const withoutOrderAmount = mapColumns((fields) => fields.filter((_, position) => position !== index));
    const summary = '`7,`221.45,`38.45,`0.00,`1.09800,`231.45,`39.45';
    expect(() => parseWechatBill(wechatBillText({ ...withoutOrderAmount, summary }), DATE)).toThrow(/coupon/);

    const noCoupon = {
      header: withoutOrderAmount.header,
      data: withoutOrderAmount.data.filter((line) => !line.includes('pay_000002')),
    };
    const rows = parseWechatBill(
      wechatBillText({ ...noCoupon, summary: '`4,`131.45,`28.45,`0.00,`0.61800,`131.45,`28.45' }),
      DATE,
    ).rows;
    expect(rows.find((found) => found.paymentId === 'pay_000001' && found.kind === 'payment')?.amount).toBe(12_345);
  });

  it.each([
    ['总交易单数', '`6,`221.45,`38.45,`0.00,`1.09800,`231.45,`39.45'],
    ['应结订单总金额', '`7,`221.46,`38.45,`0.00,`1.09800,`231.45,`39.45'],
    ['退款总金额', '`7,`221.45,`38.44,`0.00,`1.09800,`231.45,`39.45'],
    ['订单总金额', '`7,`221.45,`38.45,`0.00,`1.09800,`231.44,`39.45'],
    ['申请退款总金额', '`7,`221.45,`38.45,`0.00,`1.09800,`231.45,`40.45'],
  ])('fails with BillFormatError when the summary disagrees with the lines: %s', (name, summary) => {
    expect(() => parseWechatBill(wechatBillText({ summary }), DATE)).toThrow(BillFormatError);
    expect(() => parseWechatBill(wechatBillText({ summary }), DATE)).toThrow(name);
  });

  // Fixed defect: the count was compared as text, so a published bill writing it `45.0` was refused whole.
  it('reads a summary whose count is written with decimals (`7.0`), and still refuses one that is not the count', () => {
    expect(parseWechatBill(wechatBillText({ summary: WECHAT_BILL_SUMMARY_DECIMAL_COUNT }), DATE).rows).toEqual(
      bill.rows,
    );
    for (const count of ['`6.0', '`7.5', '`7.', '`07x', '`-7']) {
      expect(() =>
        parseWechatBill(wechatBillText({ summary: WECHAT_BILL_SUMMARY_DECIMAL_COUNT.replace('`7.0', count) }), DATE),
      ).toThrow(/总交易单数/);
    }
  });

  it('does not read the fees (5 decimals) as amounts: a changed fee total is no disagreement', () => {
    const summary = WECHAT_BILL_SUMMARY.replace('`1.09800', '`9.99999');
    expect(parseWechatBill(wechatBillText({ summary }), DATE).rows).toEqual(bill.rows);
  });

  it('fails with BillFormatError when a line lost a field, lost its backticks, or the summary is gone', () => {
    const [first = '', ...rest] = WECHAT_BILL_DATA;
    expect(() => parseWechatBill(wechatBillText({ data: [first.replace(',`0.60%', ''), ...rest] }), DATE)).toThrow(
      /fields for 27 columns/,
    );
    expect(() => parseWechatBill(wechatBillText({ data: [first.replaceAll('`', ''), ...rest] }), DATE)).toThrow(
      BillFormatError,
    );
    expect(() => parseWechatBill(wechatBillText().split('\r\n').slice(0, 3).join('\r\n'), DATE)).toThrow(
      BillFormatError,
    );
    expect(() => parseWechatBill('<html>502 Bad Gateway</html>', DATE)).toThrow(BillFormatError);
    expect(() =>
      parseWechatBill(wechatBillText({ summary: WECHAT_BILL_SUMMARY.replace(',`39.45', '') }), DATE),
    ).toThrow(/6 summary values for 7 names/);
    expect(() =>
      parseWechatBill(
        wechatBillText({
          summaryHeader: '总交易单数,应结订单总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
        }),
        DATE,
      ),
    ).toThrow(/退款总金额/);
  });

  it.each([
    ['an unknown 交易状态', (line: string) => line.replace('`SUCCESS,`OTHERS', '`NOTPAY,`OTHERS')],
    ['another currency', (line: string) => line.replace('`CNY', '`USD')],
    ['an amount with 3 decimals', (line: string) => line.replace('`123.45,`0.00,`0,', '`123.450,`0.00,`0,')],
    [
      'a time that is not Beijing yyyy-MM-dd HH:mm:ss',
      (line: string) => line.replace('2026-11-25 11:59:30', '2026/11/25 11:59:30'),
    ],
    ['no 商户订单号', (line: string) => line.replace('`pay_000001', '`')],
  ])('fails with BillFormatError on a line with %s', (_, change) => {
    const [first = '', ...rest] = WECHAT_BILL_DATA;
    expect(() => parseWechatBill(wechatBillText({ data: [change(first), ...rest] }), DATE)).toThrow(BillFormatError);
  });
});

// ---------------------------------------------------------------------------------------------
// fetchBill against the simulator
// ---------------------------------------------------------------------------------------------

/** 2026-11-26 10:00 in Beijing: the bill of the 25th is due. */
const NOW = new Date('2026-11-26T02:00:00.000Z');
const NOTIFY_URL = 'https://shop.example/api/payments/callback/wechat';

function paidCheckout(paymentId: string, paidAt: string, amount = 12_345): SandboxCheckout {
  return {
    provider: 'wechat',
    paymentId,
    amount,
    currency: 'CNY',
    description: 'Order ord_1, tea',
    notifyUrl: NOTIFY_URL,
    expiresAt: '2026-11-25T04:30:00.000Z',
    state: 'paid',
    transactionId: `42000000002026112500000${paymentId.slice(-5)}`,
    paidAt,
    notificationId: `EV-${paymentId}`,
  };
}

interface Connection {
  store?: CheckoutStore;
  merchantKey?: string;
  /** The simulator's clock per request (the merchant signs with `NOW`). */
  clock?: (requestIndex: number) => Date;
  tamper?: (response: SandboxResponse) => SandboxResponse;
}

/** The merchant module wired to the WeChat simulator through real signatures. */
function connected(options: Connection = {}) {
  const store = options.store ?? memoryCheckoutStore();
  const sent: SentRequest[] = [];
  const simulator = createWechatSimulator(sandbox);
  const now = () => options.clock?.(sent.length - 1) ?? NOW;
  const config = options.merchantKey ? { ...merchant, merchantPrivateKey: options.merchantKey } : merchant;
  const wechat = createWechatProvider({
    config,
    fetch: simulatorFetch(simulator, store, { now, sent, tamper: options.tamper }),
  });
  return { store, sent, simulator, wechat };
}

/** A store with one paid order (13:59:30 Beijing), an API refund (SUCCESS) and a console refund. */
/** A refund asked through the merchant module at `at` (the simulator's clock then too); it stays PROCESSING. */
async function refundThroughApi(
  store: CheckoutStore,
  refund: { refundId: string; paymentId: string; amount: number; paymentAmount: number },
  at: Date,
) {
  await connected({ store, clock: () => at }).wechat.refund({
    ...refund,
    currency: 'CNY',
    notifyUrl: NOTIFY_URL,
    now: at,
  });
}

async function dayOfTrade() {
  const setup = connected();
  const { store } = setup;
  store.put(paidCheckout('pay_000001', '2026-11-25T05:59:30.000Z'));
  const refund = { refundId: 'ref_000001', paymentId: 'pay_000001', amount: 2_345, paymentAmount: 12_345 };
  await refundThroughApi(store, refund, new Date('2026-11-25T06:00:00.000Z'));
  const [apiRefund] = store.refunds.list('pay_000001');
  if (!apiRefund) throw new Error('no refund made');
  store.refunds.settle('pay_000001', apiRefund.key, new Date('2026-11-25T06:00:05.000Z'));
  const consoleRefund = store.refunds.open(
    { paymentId: 'pay_000001', amount: 1_000, external: true, settle: 'now' },
    new Date('2026-11-25T07:00:00.000Z'),
  );
  if (consoleRefund.result !== 'opened') throw new Error('no console refund');
  return { ...setup, apiRefundKey: apiRefund.key, consoleRefundKey: consoleRefund.refund.key };
}

/** Re-signs a tradebill answer after `edit` changed its JSON, as a genuine WeChat answer would be. */
function resignedTradebill(
  response: SandboxResponse,
  edit: (answer: Record<string, string>) => Record<string, string>,
): SandboxResponse {
  if (response.bytes || !response.body.includes('download_url')) return response;
  const body = JSON.stringify(edit(JSON.parse(response.body) as Record<string, string>));
  const unsigned = Object.entries(response.headers).filter(([name]) => !name.toLowerCase().startsWith('wechatpay-'));
  return {
    ...response,
    body,
    headers: { ...Object.fromEntries(unsigned), ...wechatpayHeaders(platformSigner(sandbox), body, seconds(NOW)) },
  };
}

/** Serves `file` instead of the day's bill, with a genuinely signed hash of it. */
function servedFile(file: Buffer): (response: SandboxResponse) => SandboxResponse {
  return (response) =>
    response.bytes
      ? { ...response, bytes: file }
      : resignedTradebill(response, (answer) => ({
          ...answer,
          hash_value: createHash('sha1').update(file).digest('hex'),
        }));
}

describe('fetchBill, through the simulator', () => {
  it('asks tradebill for the day (signed GET), downloads the file (signed GET) and reads the payment and both refunds', async () => {
    const { wechat, sent, apiRefundKey, consoleRefundKey } = await dayOfTrade();
    sent.length = 0;
    const fetched = await wechat.fetchBill({ date: DATE, now: NOW });

    expect(sent.map(({ method, url }) => `${method} ${url.replace(/token=[\w-]+/, 'token=…')}`)).toEqual([
      `GET ${WECHAT_SANDBOX_BASE}/v3/bill/tradebill?bill_date=2026-11-25&bill_type=ALL`,
      `GET ${WECHAT_SANDBOX_BASE}/v3/billdownload/file?token=…`,
    ]);
    expect(
      sent.every(({ headers }) => headers.Authorization?.startsWith('WECHATPAY2-SHA256-RSA2048 mchid="1900000001",')),
    ).toBe(true);
    expect(fetched.status).toBe('ready');
    if (fetched.status !== 'ready') return;
    expect(fetched.bill.rows).toEqual<BillRow[]>([
      {
        kind: 'payment',
        paymentId: 'pay_000001',
        providerTransactionId: '4200000000202611250000000001',
        amount: 12_345,
        status: 'succeeded',
        finishedAt: '2026-11-25T05:59:30.000Z',
        providerStatus: 'SUCCESS',
      },
      {
        kind: 'refund',
        refundId: 'ref_000001',
        paymentId: 'pay_000001',
        providerTransactionId: '4200000000202611250000000001',
        providerRefundId: apiRefundKey,
        amount: 2_345,
        status: 'succeeded',
        finishedAt: '2026-11-25T06:00:05.000Z',
        providerStatus: 'SUCCESS',
      },
      {
        kind: 'refund',
        refundId: consoleRefundKey,
        paymentId: 'pay_000001',
        providerTransactionId: '4200000000202611250000000001',
        providerRefundId: consoleRefundKey,
        amount: 1_000,
        status: 'succeeded',
        finishedAt: '2026-11-25T07:00:00.000Z',
        providerStatus: 'SUCCESS',
      },
    ]);
    expect(fetched.bill.totals).toEqual({ paymentCount: 1, paymentAmount: 12_345, refundAmount: 3_345 });
  });

  it('puts each row on its Beijing day: a payment at 23:59:59 on the 25th, its refund at 00:00:00 on the 26th', async () => {
    const { wechat, store } = connected();
    store.put(paidCheckout('pay_000002', '2026-11-25T15:59:59.000Z', 500));
    store.refunds.open(
      { paymentId: 'pay_000002', refundId: 'ref_000002', amount: 500, settle: 'now' },
      new Date('2026-11-25T16:00:00.000Z'),
    );

    const dayOne = await wechat.fetchBill({ date: DATE, now: NOW });
    const dayTwo = await wechat.fetchBill({ date: '2026-11-26', now: NOW });
    expect(dayOne.status === 'ready' && dayOne.bill.rows.map((row) => `${row.kind} ${row.finishedAt}`)).toEqual([
      'payment 2026-11-25T15:59:59.000Z',
    ]);
    expect(dayTwo.status === 'ready' && dayTwo.bill.rows.map((row) => `${row.kind} ${row.finishedAt}`)).toEqual([
      'refund 2026-11-25T16:00:00.000Z',
    ]);
  });

  it('shows a refund still under way as processing', async () => {
    const { wechat, store } = connected();
    store.put(paidCheckout('pay_000001', '2026-11-25T05:59:30.000Z'));
    await refundThroughApi(
      store,
      { refundId: 'ref_000001', paymentId: 'pay_000001', amount: 45, paymentAmount: 12_345 },
      new Date('2026-11-25T06:00:00.000Z'),
    );
    const fetched = await wechat.fetchBill({ date: DATE, now: NOW });
    expect(fetched.status === 'ready' && fetched.bill.rows[1]).toMatchObject({
      kind: 'refund',
      refundId: 'ref_000001',
      amount: 45,
      status: 'processing',
      providerStatus: 'PROCESSING',
    });
  });

  it('answers not_ready for a day after today (STATEMENT_CREATING), and serves today at once', async () => {
    const { wechat, store } = connected();
    store.put(paidCheckout('pay_000001', '2026-11-26T01:00:00.000Z'));
    expect(await wechat.fetchBill({ date: '2026-11-27', now: NOW })).toEqual({
      status: 'not_ready',
      providerStatus: 'STATEMENT_CREATING',
    });
    expect(await wechat.fetchBill({ date: '2026-11-26', now: NOW })).toMatchObject({
      status: 'ready',
      bill: { totals: { paymentCount: 1 } },
    });
  });

  it('answers no_trades for a day without payments or refunds (NO_STATEMENT_EXIST)', async () => {
    const { wechat, sent } = await dayOfTrade();
    sent.length = 0;
    expect(await wechat.fetchBill({ date: '2026-11-24', now: NOW })).toEqual({
      status: 'no_trades',
      providerStatus: 'NO_STATEMENT_EXIST',
    });
    expect(sent).toHaveLength(1);
  });

  it('refuses a file whose SHA1 is not the signed hash_value: retryable, no rows', async () => {
    const store = (await dayOfTrade()).store;
    const { wechat } = connected({
      store,
      tamper: (response) =>
        response.bytes
          ? { ...response, bytes: Buffer.from(response.bytes.toString('utf8').replace('`123.45', '`12.35'), 'utf8') }
          : response,
    });
    const error = await billError(() => wechat.fetchBill({ date: DATE, now: NOW }));
    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringContaining('SHA1') });
  });

  it('refuses a tradebill answer changed on the way (hash_value no longer signed): retryable', async () => {
    const store = (await dayOfTrade()).store;
    const tamper = (response: SandboxResponse) =>
      response.body.includes('hash_value')
        ? { ...response, body: response.body.replace(/"hash_value":"\w+"/, `"hash_value":"${'0'.repeat(40)}"`) }
        : response;
    const error = await billError(() => connected({ store, tamper }).wechat.fetchBill({ date: DATE, now: NOW }));
    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringContaining('bad_signature') });
  });

  it('downloads within the 5 minutes a download_url lives, and not at 5 minutes: a retryable ProviderCallError', async () => {
    const store = (await dayOfTrade()).store;
    const late = (ms: number) => (index: number) => new Date(NOW.getTime() + (index === 0 ? 0 : ms));
    expect((await connected({ store, clock: late(299_000) }).wechat.fetchBill({ date: DATE, now: NOW })).status).toBe(
      'ready',
    );

    const error = await billError(() =>
      connected({ store, clock: late(300_000) }).wechat.fetchBill({ date: DATE, now: NOW }),
    );
    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringContaining('HTTP 400 INVALID_REQUEST') });
  });

  it('is refused a download with a token the simulator never gave', async () => {
    const store = (await dayOfTrade()).store;
    const tamper = (response: SandboxResponse) =>
      resignedTradebill(response, (answer) => ({
        ...answer,
        download_url: answer.download_url?.replace(/token=[\w-]+/, 'token=made-up') ?? '',
      }));
    const error = await billError(() => connected({ store, tamper }).wechat.fetchBill({ date: DATE, now: NOW }));
    expect(error).toMatchObject({ retryable: true, message: expect.stringContaining('INVALID_REQUEST') });
  });

  it('never sends its signed request to a download_url off the configured API', async () => {
    const { store } = await dayOfTrade();
    const tamper = (response: SandboxResponse) =>
      resignedTradebill(response, (answer) => ({
        ...answer,
        download_url: 'https://attacker.example/v3/billdownload/file?token=x',
      }));
    const { wechat, sent } = connected({ store, tamper });
    const error = await billError(() => wechat.fetchBill({ date: DATE, now: NOW }));
    expect(error).toMatchObject({ retryable: false, message: expect.stringContaining('apiBase') });
    expect(sent).toHaveLength(1);
  });

  it('reads a malformed file with a matching hash as BillFormatError', async () => {
    const { store } = await dayOfTrade();
    const malformed = Buffer.from(
      wechatBillText({ summary: '`2,`123.45,`33.45,`0.00,`0.00000,`123.45,`33.45' }),
      'utf8',
    );
    const error = await billError(() =>
      connected({ store, tamper: servedFile(malformed) }).wechat.fetchBill({ date: DATE, now: NOW }),
    );
    expect(error).toBeInstanceOf(BillFormatError);
  });

  it('reads a file that is not UTF-8 as BillFormatError, and refuses a gzip file (not asked for) for good', async () => {
    const { store } = await dayOfTrade();
    const gbk = Buffer.from([0xef, 0xbb, 0xbf, 0xbd, 0xbb, 0xd2, 0xd7]);
    expect(
      await billError(() => connected({ store, tamper: servedFile(gbk) }).wechat.fetchBill({ date: DATE, now: NOW })),
    ).toBeInstanceOf(BillFormatError);

    const gzip = gzipSync(Buffer.from(wechatBillText(), 'utf8'));
    const error = await billError(() =>
      connected({ store, tamper: servedFile(gzip) }).wechat.fetchBill({ date: DATE, now: NOW }),
    );
    expect(error).toMatchObject({ retryable: false, message: expect.stringContaining('gzip') });
  });

  it('is refused by the simulator (401 SIGN_ERROR) when signed with another merchant key, unsigned, or the download is unsigned', async () => {
    const { store, simulator } = await dayOfTrade();
    const error = await billError(() =>
      connected({ store, merchantKey: otherMerchant.privateKey }).wechat.fetchBill({ date: DATE, now: NOW }),
    );
    expect(error).toMatchObject({ retryable: false, message: expect.stringContaining('HTTP 401 SIGN_ERROR') });

    const query = new URLSearchParams({ bill_date: DATE, bill_type: 'ALL' });
    const unsigned = await simulator.handle(
      { method: 'GET', path: '/v3/bill/tradebill', query, headers: {}, body: '' },
      store,
      NOW,
    );
    expect(unsigned.statusCode).toBe(401);

    const good = connected({ store });
    await good.wechat.fetchBill({ date: DATE, now: NOW });
    const download = new URL(good.sent[1]?.url ?? '');
    const replay = await simulator.handle(
      { method: 'GET', path: '/v3/billdownload/file', query: download.searchParams, headers: {}, body: '' },
      store,
      NOW,
    );
    expect(replay.statusCode).toBe(401);
    expect(replay.bytes).toBeUndefined();
  });

  it('serves a file in WeChat format whose SHA1 is the hash_value: BOM, CRLF, backticks, 27 columns', async () => {
    const { store } = await dayOfTrade();
    let file: Buffer | undefined;
    let hash: string | undefined;
    const tamper = (response: SandboxResponse) => {
      if (response.bytes) file = response.bytes;
      else if (response.body.includes('hash_value'))
        hash = (JSON.parse(response.body) as { hash_value: string }).hash_value;
      return response;
    };
    await connected({ store, tamper }).wechat.fetchBill({ date: DATE, now: NOW });
    expect(
      createHash('sha1')
        .update(file ?? '')
        .digest('hex'),
    ).toBe(hash);
    const text = file?.toString('utf8') ?? '';
    expect(text.startsWith('\uFEFF交易时间,公众账号ID,商户号,')).toBe(true);
    const lines = text.split('\r\n');
    expect(lines).toHaveLength(7); // header, 3 lines, summary header and values, and the final CRLF
    expect(lines[1]?.split(',`')).toHaveLength(27);
    expect(lines[4]).toBe(
      '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
    );
    expect(lines[5]).toBe('`3,`123.45,`33.45,`0.00,`0.54000,`123.45,`33.45');
  });

  it('accepts hash_value in upper case hex; refuses another hash_type, and a date that is not one, for good', async () => {
    const { store } = await dayOfTrade();
    const upper = (response: SandboxResponse) =>
      resignedTradebill(response, (answer) => ({ ...answer, hash_value: answer.hash_value?.toUpperCase() ?? '' }));
    expect((await connected({ store, tamper: upper }).wechat.fetchBill({ date: DATE, now: NOW })).status).toBe('ready');

    const md5 = (response: SandboxResponse) =>
      resignedTradebill(response, (answer) => ({ ...answer, hash_type: 'MD5' }));
    expect(
      await billError(() => connected({ store, tamper: md5 }).wechat.fetchBill({ date: DATE, now: NOW })),
    ).toMatchObject({
      retryable: false,
      message: expect.stringContaining('MD5'),
    });

    const { wechat, sent } = connected({ store });
    expect(await billError(() => wechat.fetchBill({ date: '2026-02-30', now: NOW }))).toMatchObject({
      retryable: false,
    });
    expect(sent).toHaveLength(0);
  });
});

describe('the simulator’s tradebill', () => {
  const ask = async (query: Record<string, string>) => {
    const { store } = await dayOfTrade();
    const answer = await createWechatSimulator(sandbox).handle(
      signedSimulatorGet(merchant, '/v3/bill/tradebill', query, NOW),
      store,
      NOW,
    );
    return { status: answer.statusCode, body: JSON.parse(answer.body) as Record<string, string> };
  };

  it('refuses a bad bill_date, an unknown bill_type and a compressed bill as PARAM_ERROR', async () => {
    const queries: Record<string, string>[] = [
      { bill_date: '2026-11-31' },
      { bill_date: DATE, bill_type: 'EVERYTHING' },
      { bill_date: DATE, tar_type: 'GZIP' },
    ];
    for (const query of queries) {
      expect(await ask(query)).toMatchObject({ status: 400, body: { code: 'PARAM_ERROR' } });
    }
  });

  it('serves bill_type SUCCESS (payments) and REFUND (refunds) apart', async () => {
    const { store } = await dayOfTrade();
    const simulator = createWechatSimulator(sandbox);
    const lines = async (billType: string) => {
      const answer = await simulator.handle(
        signedSimulatorGet(merchant, '/v3/bill/tradebill', { bill_date: DATE, bill_type: billType }, NOW),
        store,
        NOW,
      );
      const download = new URL((JSON.parse(answer.body) as { download_url: string }).download_url);
      const file = await simulator.handle(
        signedSimulatorGet(merchant, '/v3/billdownload/file', Object.fromEntries(download.searchParams), NOW),
        store,
        NOW,
      );
      return parseWechatBill(file.bytes?.toString('utf8') ?? '', DATE).rows.map((row) => row.kind);
    };
    expect(await lines('SUCCESS')).toEqual(['payment']);
    expect(await lines('REFUND')).toEqual(['refund', 'refund']);
    expect(await lines('ALL')).toEqual(['payment', 'refund', 'refund']);
  });
});
