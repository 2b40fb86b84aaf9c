import { createPayUrl } from '../../support/checkout-fixtures';
import { unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { createAlipaySimulator } from '../../../local/sandbox/alipay';
import { createSandbox } from '../../../local/sandbox/server';
import { encodeGbk } from '../../../local/sandbox/gbk';
import type { CheckoutStore, SandboxCheckout } from '../../../local/sandbox/types';
import { writeZip } from '../../../local/sandbox/zip';
import { BillFormatError, type BillRow } from '../../../src/domain/bill';
import { createAlipayProvider } from '../../../src/providers/alipay';
import { ALIPAY_BILL_MAX_ENTRY_BYTES, alipayBillFromZip, parseAlipayBill } from '../../../src/providers/alipay/bill';
import { ProviderCallError } from '../../../src/core/payments/provider';
import type { FetchLike } from '../../../src/providers/kit/http';
import {
  ALIPAY_BILL_FIXTURE_DATE,
  alipayDetailFixture,
  alipayDetailOlderFooterFixture,
  alipayTestKeys,
  memoryCheckoutStore,
  recordingMethods,
  rewritingBillDownloads,
  signedGatewayAnswer,
  simulatorFetch,
  strangerPrivateKey,
} from '../../support/alipay-fixtures';

const keys = alipayTestKeys();
const simulator = createAlipaySimulator(keys.sandbox);
const gbk = new TextDecoder('gbk');
const fixtureText = () => gbk.decode(alipayDetailFixture());
const DATE = ALIPAY_BILL_FIXTURE_DATE;

/** The fixture's rows, normalised by hand from the file. */
const FIXTURE_ROWS: BillRow[] = [
  {
    kind: 'payment',
    paymentId: 'pay_alpha',
    providerTransactionId: '2026112722001400000000000001',
    amount: 12_345,
    status: 'succeeded',
    finishedAt: '2026-11-27T02:00:05.000Z',
    providerStatus: '交易',
  },
  {
    kind: 'payment',
    paymentId: 'pay_beta',
    providerTransactionId: '2026112722001400000000000002',
    amount: 3_580,
    status: 'succeeded',
    finishedAt: '2026-11-27T15:59:59.000Z',
    providerStatus: '交易',
  },
  {
    kind: 'refund',
    refundId: 'ref_1',
    paymentId: 'pay_alpha',
    providerTransactionId: '2026112722001400000000000001',
    amount: 2_345,
    status: 'succeeded',
    finishedAt: '2026-11-27T07:30:00.000Z',
    providerStatus: '退款',
  },
  {
    kind: 'refund',
    refundId: 'HZ01RF2026112700001',
    paymentId: 'pay_old',
    providerTransactionId: '2026112522001400000000000009',
    amount: 1,
    status: 'succeeded',
    finishedAt: '2026-11-27T10:00:01.000Z',
    providerStatus: '退款',
  },
];

/** Each data row (not a `#` line, not the header) through `edit`. */
function editDataRows(text: string, edit: (line: string) => string): string {
  let header = true;
  return text
    .split('\r\n')
    .map((line) => {
      if (line.startsWith('#') || line === '') return line;
      if (header) {
        header = false;
        return line;
      }
      return edit(line);
    })
    .join('\r\n');
}

/** A ZIP as Alipay serves it: GBK names without the UTF-8 flag, GBK content. */
function billZip(detail: string, { pid = '2088000000000001', day = '20261127', summary = true } = {}): Buffer {
  const stem = `${pid}_${day}_业务明细`;
  return writeZip(
    [
      { name: encodeGbk(`${stem}.csv`), data: encodeGbk(detail) },
      ...(summary ? [{ name: encodeGbk(`${stem}(汇总).csv`), data: encodeGbk('#支付宝业务汇总查询\r\n') }] : []),
    ],
    new Date('2026-11-28T01:00:00Z'),
  );
}

/** Offset of the first central directory header, from the end record. */
function centralDirectoryOffset(zip: Buffer): number {
  return zip.readUInt32LE(zip.length - 22 + 16);
}

describe('parseAlipayBill: the detail file', () => {
  it('reads the GBK fixture: TAB-ended and space-padded ids, a quoted 商品名称, trades and refunds, negative refund amounts as positive fen', () => {
    const bill = parseAlipayBill(fixtureText(), DATE);
    expect(bill).toEqual({
      provider: 'alipay',
      date: DATE,
      rows: FIXTURE_ROWS,
      totals: { paymentCount: 2, paymentAmount: 15_925, refundAmount: 2_346 },
    });
  });

  it('the fixture is GBK, as Alipay writes it: not valid UTF-8, and its columns are only found once decoded as GBK', () => {
    const bytes = alipayDetailFixture();
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow();
    expect(bytes.includes(encodeGbk('订单金额（元）'))).toBe(true);
    expect(() => parseAlipayBill(bytes.toString('latin1'), DATE)).toThrow(BillFormatError);
  });

  it('finds the columns by their names, wherever they stand', () => {
    const shifted = editDataRows(
      fixtureText().replace('支付宝交易号,', '新增列,支付宝交易号,'),
      (line) => `x\t,${line}`,
    );
    expect(parseAlipayBill(shifted, DATE).rows).toEqual(FIXTURE_ROWS);
  });

  it('reads LF line endings as well as CRLF', () => {
    expect(parseAlipayBill(fixtureText().replaceAll('\r\n', '\n'), DATE).rows).toEqual(FIXTURE_ROWS);
  });

  it('refuses a row whose amounts disagree with the 交易合计 footer (a changed row is caught)', () => {
    const changed = fixtureText().replace(',123.45,123.45,', ',123.46,123.46,');
    expect(() => parseAlipayBill(changed, DATE)).toThrow(/交易 footer/);
  });

  it('refuses a bill whose 退款合计 disagrees with its refund rows, in count or amount', () => {
    expect(() => parseAlipayBill(fixtureText().replace('#退款合计：2笔', '#退款合计：3笔'), DATE)).toThrow(
      /退款 footer/,
    );
    expect(() =>
      parseAlipayBill(fixtureText().replace('商家实收退款共-23.46元', '商家实收退款共-23.45元'), DATE),
    ).toThrow(/退款 footer/);
    // The footer writes the refund total negative, as the rows do: a positive one is another number.
    expect(() =>
      parseAlipayBill(fixtureText().replace('商家实收退款共-23.46元', '商家实收退款共23.46元'), DATE),
    ).toThrow(/退款 footer/);
  });

  // Fixed defect: the older footer wording was refused whole, so such a day was never reconciled.
  it('reads a file whose footer is in the older wording (交易金额 / 优惠金额), and refuses one whose older totals disagree', () => {
    const older = gbk.decode(alipayDetailOlderFooterFixture());
    expect(parseAlipayBill(older, DATE).rows).toEqual(FIXTURE_ROWS);
    expect(() => parseAlipayBill(older.replace('交易金额共159.25元', '交易金额共159.26元'), DATE)).toThrow(
      /交易 footer/,
    );
    expect(() => parseAlipayBill(older.replace('#退款合计：2笔', '#退款合计：1笔'), DATE)).toThrow(/退款 footer/);
    expect(() => parseAlipayBill(older.replace('优惠退款金额共0.00元', '优惠退款金额共-0.01元'), DATE)).toThrow(
      /退款 footer/,
    );
    // 优惠金额 is 订单金额 less 商家实收: a row with a merchant discount must be stated there.
    const discounted = older
      .replace('123.45,123.45,0.00', '123.45,120.00,3.45')
      .replace('优惠金额共0.00元', '优惠金额共3.45元');
    expect(() => parseAlipayBill(discounted, DATE)).not.toThrow();
    expect(() => parseAlipayBill(discounted.replace('优惠金额共3.45元', '优惠金额共0.00元'), DATE)).toThrow(
      /交易 footer/,
    );
  });

  it('refuses a dropped row (the footer still counts it)', () => {
    const dropped = editDataRows(fixtureText(), (line) => (line.includes('pay_beta') ? '' : line));
    expect(() => parseAlipayBill(dropped, DATE)).toThrow(/交易 footer/);
  });

  it('refuses a file without its footer totals', () => {
    const withoutRefundTotals = fixtureText().replace(/#退款合计：[^\r]*\r\n/, '');
    expect(() => parseAlipayBill(withoutRefundTotals, DATE)).toThrow(/no 退款合计/);
    const withoutFooter = fixtureText().replace(/#-+业务明细列表结束[\s\S]*$/, '');
    expect(() => parseAlipayBill(withoutFooter, DATE)).toThrow(/no 交易合计/);
  });

  it('refuses the bill of another day', () => {
    expect(() => parseAlipayBill(fixtureText(), '2026-11-26')).toThrow(/starts on 2026-11-27, not 2026-11-26/);
  });

  it.each([
    [
      'a missing column',
      (text: string) => text.replace('退款批次号/请求号', '退款批次号'),
      /no column 退款批次号\/请求号/,
    ],
    [
      'half-width parentheses',
      (text: string) => text.replace('订单金额（元）', '订单金额(元)'),
      /no column 订单金额（元）/,
    ],
    [
      'an unknown 业务类型',
      (text: string) => text.replace('pay_beta\t ,交易', 'pay_beta\t ,收费'),
      /unknown 业务类型 "收费"/,
    ],
    ['more than two decimals', (text: string) => text.replace(',35.80,35.80,', ',35.801,35.801,'), /not a yuan amount/],
    [
      'a refund with a positive amount',
      (text: string) => text.replaceAll('-23.45', '23.45').replace('共-23.46元', '共23.44元'),
      /non-negative 订单金额/,
    ],
    ['a refund without its batch number', (text: string) => text.replace('ref_1\t', '\t'), /no 退款批次号\/请求号/],
    [
      'a row with a field too few',
      (text: string) => editDataRows(text, (line) => line.replace(/,[^,]*$/, '')),
      /fields, the header 25/,
    ],
    ['an unterminated quote', (text: string) => text.replace('"Tea, ""green"""', '"Tea, green'), /unterminated quote/],
    [
      'a time that is not yyyy-MM-dd HH:mm:ss',
      (text: string) => text.replace('2026-11-27 10:00:05', '2026/11/27 10:00:05'),
      /not a Beijing time/,
    ],
    ['no 起始日期 line', (text: string) => text.replace(/#起始日期[^\r]*\r\n/, ''), /no 起始日期/],
  ])('refuses %s', (_name, edit, message) => {
    expect(() => parseAlipayBill(edit(fixtureText()), DATE)).toThrow(BillFormatError);
    expect(() => parseAlipayBill(edit(fixtureText()), DATE)).toThrow(message);
  });
});

describe('alipayBillFromZip: the ZIP', () => {
  it('finds the detail file by its GBK name (UTF-8 flag clear) next to the 汇总 file, and reads it', () => {
    const zip = billZip(fixtureText());
    expect(zip.readUInt16LE(6) & 0x0800).toBe(0);
    expect(alipayBillFromZip(zip, DATE).rows).toEqual(FIXTURE_ROWS);
  });

  it('also reads a detail file whose name is UTF-8 flagged', () => {
    const zip = zipSync({ '2088000000000001_20261127_业务明细.csv': encodeGbk(fixtureText()) });
    expect(alipayBillFromZip(zip, DATE).rows).toEqual(FIXTURE_ROWS);
  });

  it('refuses a ZIP without the detail file', () => {
    const onlySummary = writeZip(
      [{ name: encodeGbk('2088000000000001_20261127_业务明细(汇总).csv'), data: encodeGbk('#\r\n') }],
      new Date(),
    );
    expect(() => alipayBillFromZip(onlySummary, DATE)).toThrow(/found 0/);
  });

  it('refuses the ZIP of another day', () => {
    expect(() => alipayBillFromZip(billZip(fixtureText(), { day: '20261126' }), DATE)).toThrow(
      /bill of 20261126, not of 2026-11-27/,
    );
  });

  it('refuses bytes that are not a ZIP', () => {
    expect(() => alipayBillFromZip(Buffer.from('<html>link expired</html>'), DATE)).toThrow(BillFormatError);
  });

  it(`refuses, before inflating, an entry that declares more than ${ALIPAY_BILL_MAX_ENTRY_BYTES} bytes (a zip bomb)`, () => {
    const zip = billZip(fixtureText());
    // The uncompressed size of the first central directory header (the detail file).
    zip.writeUInt32LE(ALIPAY_BILL_MAX_ENTRY_BYTES + 1, centralDirectoryOffset(zip) + 24);
    expect(() => alipayBillFromZip(zip, DATE)).toThrow(/declares more than 67108864 bytes/);
  });

  it('refuses an entry that inflates to less than it declared', () => {
    const zip = billZip(fixtureText());
    const sizeAt = centralDirectoryOffset(zip) + 24;
    zip.writeUInt32LE(zip.readUInt32LE(sizeAt) + 1, sizeAt);
    expect(() => alipayBillFromZip(zip, DATE)).toThrow(/inflates to other than its declared size/);
  });

  it('an entry that inflates to more than it declared is cut there, and so fails the footer check', () => {
    const zip = billZip(fixtureText());
    const sizeAt = centralDirectoryOffset(zip) + 24;
    zip.writeUInt32LE(encodeGbk(fixtureText()).indexOf(encodeGbk('#退款合计')), sizeAt);
    expect(() => alipayBillFromZip(zip, DATE)).toThrow(/no 退款合计/);
  });

  it('refuses a detail file that is not GBK', () => {
    const zip = writeZip(
      [{ name: encodeGbk('2088000000000001_20261127_业务明细.csv'), data: Buffer.from([0x23, 0x81, 0x7f, 0x0a]) }],
      new Date(),
    );
    expect(() => alipayBillFromZip(zip, DATE)).toThrow(/not GBK/);
  });
});

// ---------------------------------------------------------------------------------------------
// fetchBill against the simulator
// ---------------------------------------------------------------------------------------------

const NOW = new Date('2026-11-28T02:30:00.000Z'); // 2026-11-28 10:30 in Beijing, the day after DATE
const NOTIFY_URL = 'https://shop.example/api/payments/callback/alipay';

function paidCheckout(
  paymentId: string,
  amount: number,
  paidAt: string,
  overrides: Partial<SandboxCheckout> = {},
): SandboxCheckout {
  return {
    provider: 'alipay',
    paymentId,
    amount,
    currency: 'CNY',
    description: `Order ${paymentId}`,
    notifyUrl: NOTIFY_URL,
    expiresAt: '2026-11-28T00:00:00.000Z',
    state: 'paid',
    transactionId: `2026112722001400${paymentId.length}0000000000`,
    paidAt,
    ...overrides,
  };
}

/**
 * DATE's activity: pay_1 paid and refunded (ref_1, through the API) and refunded again on the
 * console; pay_2 paid; an older payment refunded that day; a refund left unfinished; a payment of
 * the day before and one of the day after.
 */
function storeWithActivity(): { store: CheckoutStore; consoleRefundKey: string } {
  const store = memoryCheckoutStore();
  store.put(
    paidCheckout('pay_1', 12_345, '2026-11-27T02:00:05.000Z', { transactionId: '2026112722001400000000000001' }),
  );
  store.put(
    paidCheckout('pay_2', 10, '2026-11-27T15:59:59.000Z', {
      transactionId: '2026112722001400000000000002',
      description: 'Tea, "green" 🍵',
    }),
  );
  store.put(
    paidCheckout('pay_old', 500, '2026-11-26T15:59:59.000Z', { transactionId: '2026112622001400000000000003' }),
  );
  store.put(
    paidCheckout('pay_next', 700, '2026-11-27T16:00:00.000Z', { transactionId: '2026112822001400000000000004' }),
  );
  store.refunds.open(
    { paymentId: 'pay_1', refundId: 'ref_1', amount: 2_345, settle: 'now' },
    new Date('2026-11-27T07:30:00.000Z'),
  );
  const made = store.refunds.open(
    { paymentId: 'pay_1', amount: 20, external: true, settle: 'now' },
    new Date('2026-11-27T08:00:00.000Z'),
  );
  if (made.result === 'refused') throw new Error('console refund refused');
  store.refunds.open(
    { paymentId: 'pay_old', refundId: 'ref_old', amount: 1, settle: 'now' },
    new Date('2026-11-27T09:00:00.000Z'),
  );
  store.refunds.open(
    { paymentId: 'pay_old', refundId: 'ref_stuck', amount: 2, settle: 'never' },
    new Date('2026-11-27T09:30:00.000Z'),
  );
  return { store, consoleRefundKey: made.refund.key };
}

function connected(
  store: CheckoutStore,
  fetch: FetchLike = simulatorFetch(simulator, store, NOW),
  config = keys.merchant,
) {
  const recorded = recordingMethods(fetch);
  return {
    ...recorded,
    provider: createAlipayProvider({
      config,
      fetch: recorded.fetch,
      http: { timeoutMs: 2_000, attempts: 1, backoffBaseMs: 0 },
    }),
  };
}

async function billError(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('alipay fetchBill through the simulator', () => {
  it('asks alipay.data.dataservice.bill.downloadurl.query for the trade bill, downloads the ZIP and normalises its rows', async () => {
    const { store, consoleRefundKey } = storeWithActivity();
    const { provider, methods, bizContents } = connected(store);
    const fetched = await provider.fetchBill({ date: DATE, now: NOW });

    expect(methods[0]).toBe('alipay.data.dataservice.bill.downloadurl.query');
    expect(bizContents[0]).toEqual({ bill_type: 'trade', bill_date: DATE });
    expect(methods).toHaveLength(2); // and the plain GET of the download URL
    const common = { status: 'succeeded', providerStatus: '退款' } as const;
    expect(fetched).toEqual({
      status: 'ready',
      bill: {
        provider: 'alipay',
        date: DATE,
        rows: [
          {
            kind: 'payment',
            paymentId: 'pay_1',
            providerTransactionId: '2026112722001400000000000001',
            amount: 12_345,
            status: 'succeeded',
            finishedAt: '2026-11-27T02:00:05.000Z',
            providerStatus: '交易',
          },
          {
            kind: 'refund',
            refundId: 'ref_1',
            paymentId: 'pay_1',
            providerTransactionId: '2026112722001400000000000001',
            amount: 2_345,
            finishedAt: '2026-11-27T07:30:00.000Z',
            ...common,
          },
          // A console refund: Alipay's own batch number (the sandbox's refund key), the number the console showed.
          {
            kind: 'refund',
            refundId: consoleRefundKey,
            paymentId: 'pay_1',
            providerTransactionId: '2026112722001400000000000001',
            amount: 20,
            finishedAt: '2026-11-27T08:00:00.000Z',
            ...common,
          },
          {
            kind: 'refund',
            refundId: 'ref_old',
            paymentId: 'pay_old',
            providerTransactionId: '2026112622001400000000000003',
            amount: 1,
            finishedAt: '2026-11-27T09:00:00.000Z',
            ...common,
          },
          {
            kind: 'payment',
            paymentId: 'pay_2',
            providerTransactionId: '2026112722001400000000000002',
            amount: 10,
            status: 'succeeded',
            finishedAt: '2026-11-27T15:59:59.000Z',
            providerStatus: '交易',
          },
        ],
        totals: { paymentCount: 2, paymentAmount: 12_355, refundAmount: 2_366 },
      },
    });
  });

  it("serves Alipay's real ZIP: GBK entry names without the UTF-8 flag, GBK CSV, both files, the 汇总 agreeing with the detail", async () => {
    const { store } = storeWithActivity();
    const served: Buffer[] = [];
    const fetch = rewritingBillDownloads(simulatorFetch(simulator, store, NOW), (bytes) => {
      served.push(bytes);
      return bytes;
    });
    await connected(store, fetch).provider.fetchBill({ date: DATE, now: NOW });
    const [zip = Buffer.alloc(0)] = served;

    expect(zip.readUInt16LE(6) & 0x0800).toBe(0);
    const entries = Object.entries(unzipSync(zip)).map(
      ([name, data]) => [gbk.decode(Buffer.from(name, 'latin1')), gbk.decode(data)] as const,
    );
    expect(entries.map(([name]) => name)).toEqual([
      '2088000000000001_20261127_业务明细.csv',
      '2088000000000001_20261127_业务明细(汇总).csv',
    ]);
    const [[, detail], [, summary]] = entries as [[string, string], [string, string]];
    expect(detail).toContain('#起始日期：[2026年11月27日 00:00:00]   终止日期：[2026年11月28日 00:00:00]');
    expect(detail).toContain('2026112722001400000000000001\t,pay_1\t,退款\t');
    expect(detail).toContain('"Tea, ""green"" ?"'); // the comma quoted; GBK has no emoji
    expect(detail).toContain('#交易合计：2笔，商家实收共123.55元，商家优惠共0.00元');
    expect(detail).toContain('#退款合计：3笔，商家实收退款共-23.66元，商家优惠退款共0.00元');
    expect(summary).toContain('合计,,2,3,99.89,99.89,');
  });

  it('answers isp.bill_not_exist (not_ready) for a day with nothing to bill and for a day after today', async () => {
    const { store } = storeWithActivity();
    const { provider } = connected(store);
    const notReady = { status: 'not_ready', providerStatus: 'isp.bill_not_exist' };
    expect(await provider.fetchBill({ date: '2026-11-20', now: NOW })).toEqual(notReady);
    expect(await provider.fetchBill({ date: '2026-11-29', now: NOW })).toEqual(notReady);
  });

  it("serves today's bill at once, with what happened so far (the sandbox does not wait for the next morning)", async () => {
    const { store } = storeWithActivity();
    const fetched = await connected(store).provider.fetchBill({ date: '2026-11-28', now: NOW });
    expect(fetched.status === 'ready' && fetched.bill.rows.map((row) => row.paymentId)).toEqual(['pay_next']);
  });

  it('refuses an answer whose signature does not verify (a changed download URL): a retryable ProviderCallError, nothing downloaded', async () => {
    const { store } = storeWithActivity();
    const tampered = simulatorFetch(simulator, store, NOW, (body) =>
      body.replace('/downloadBillFile.resource', '/downloadBillFile.resourcf'),
    );
    const { provider, methods } = connected(store, tampered);
    const error = await billError(provider.fetchBill({ date: DATE, now: NOW }));
    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringMatching(/signed by Alipay/) as unknown });
    expect(methods).toHaveLength(1);
  });

  it('the download URL is valid 30 seconds: fetched at 29 s it serves the bill, at 30 s it answers 404 (a retryable ProviderCallError)', async () => {
    const { store } = storeWithActivity();
    const downloadingAfter = (ms: number): FetchLike => {
      const gateway = simulatorFetch(simulator, store, NOW);
      const later = simulatorFetch(simulator, store, new Date(NOW.getTime() + ms));
      return (input, init) =>
        new URL(input).pathname.endsWith('/downloadBillFile.resource') ? later(input, init) : gateway(input, init);
    };
    expect(await connected(store, downloadingAfter(29_000)).provider.fetchBill({ date: DATE, now: NOW })).toMatchObject(
      { status: 'ready' },
    );
    const error = await billError(
      connected(store, downloadingAfter(30_000)).provider.fetchBill({ date: DATE, now: NOW }),
    );
    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringMatching(/HTTP 404/) as unknown });
  });

  it('a row changed in the downloaded file is a BillFormatError (the footer no longer adds up)', async () => {
    const { store } = storeWithActivity();
    const changeAmount = (zip: Buffer) => {
      const [[name, data]] = Object.entries(unzipSync(zip)) as [[string, Uint8Array]];
      const detail = gbk.decode(data).replace(',123.45,123.45,', ',1.45,1.45,');
      return writeZip([{ name: Buffer.from(name, 'latin1'), data: encodeGbk(detail) }], NOW);
    };
    const fetch = rewritingBillDownloads(simulatorFetch(simulator, store, NOW), changeAmount);
    await expect(connected(store, fetch).provider.fetchBill({ date: DATE, now: NOW })).rejects.toThrow(/交易 footer/);
  });

  it('a download that is not a ZIP is a BillFormatError', async () => {
    const { store } = storeWithActivity();
    const fetch = rewritingBillDownloads(simulatorFetch(simulator, store, NOW), () =>
      Buffer.from('<html>系统繁忙</html>'),
    );
    await expect(connected(store, fetch).provider.fetchBill({ date: DATE, now: NOW })).rejects.toThrow(BillFormatError);
  });

  it('the simulator refuses a bill request signed with another key (isv.invalid-signature) and an unsigned one', async () => {
    const { store } = storeWithActivity();
    const forged = connected(store, undefined, { ...keys.merchant, privateKey: strangerPrivateKey() });
    await expect(forged.provider.fetchBill({ date: DATE, now: NOW })).rejects.toThrow(/40002 isv.invalid-signature/);

    const unsigned = new URLSearchParams({
      app_id: keys.merchant.appId,
      method: 'alipay.data.dataservice.bill.downloadurl.query',
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: '2026-11-28 10:30:00',
      version: '1.0',
      biz_content: JSON.stringify({ bill_type: 'trade', bill_date: DATE }),
    });
    const answer = await simulator.handle(
      { method: 'POST', path: '/gateway.do', query: new URLSearchParams(), headers: {}, body: unsigned.toString() },
      store,
      NOW,
    );
    expect(answer.body).toContain('isv.missing-signature');
    expect(answer.body).not.toContain('bill_download_url');
  });

  it('an unknown download token is a 404', async () => {
    const { store } = storeWithActivity();
    const answer = await simulator.handle(
      {
        method: 'GET',
        path: '/downloadBillFile.resource',
        query: new URLSearchParams({ token: 'guess' }),
        headers: {},
        body: '',
      },
      store,
      NOW,
    );
    expect(answer.statusCode).toBe(404);
    expect(answer.bytes).toBeUndefined();
  });

  it('any other gateway failure, or a success without a URL, is a retryable ProviderCallError', async () => {
    const nodeName = 'alipay_data_dataservice_bill_downloadurl_query_response';
    const answering = (node: object) =>
      createAlipayProvider({
        config: keys.merchant,
        fetch: signedGatewayAnswer(nodeName, node, keys.sandbox.alipayPrivateKey),
      }).fetchBill({
        date: DATE,
        now: NOW,
      });
    await expect(
      answering({ code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error' }),
    ).rejects.toMatchObject({
      retryable: true,
      message: expect.stringMatching(/code 20000 isp.unknow-error/) as unknown,
    });
    await expect(answering({ code: '10000', msg: 'Success' })).rejects.toThrow(/no bill_download_url/);
  });
});

describe('alipay fetchBill through the whole sandbox', () => {
  it("pays with the callback lost, refunds on the console, and finds both in the day's bill, downloaded at the address the sandbox routes", async () => {
    const clock = { now: () => NOW };
    const sandbox = createSandbox({ keys: { alipay: keys.sandbox }, publicBaseUrl: 'http://127.0.0.1:3000', clock });
    const viaSandbox: FetchLike = async (input, init = {}) => {
      const url = new URL(input);
      const answer = await sandbox.handle({
        method: init.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: {},
        body: init.body ?? '',
      });
      if (!answer) return new Response('not the sandbox', { status: 404 });
      const body = answer.bytes ?? answer.body;
      return new Response(body.length === 0 ? null : body, { status: answer.statusCode, headers: answer.headers });
    };
    const provider = createAlipayProvider({ config: keys.merchant, fetch: viaSandbox });
    const payment = {
      paymentId: 'pay_e2e',
      orderId: 'ord_e2e',
      amount: 5_000,
      currency: 'CNY',
      expiresAt: '2026-11-28T03:00:00.000Z',
      description: '测试订单',
    } as const;
    const { payUrl } = await createPayUrl(provider, {
      payment,
      notifyUrl: NOTIFY_URL,
      returnUrl: 'https://shop.example/done',
      now: NOW,
    });
    expect((await viaSandbox(payUrl)).status).toBe(302);
    await sandbox.decide('pay_e2e', 'pay', { notify: false });
    const consoleRefund = sandbox.refund('pay_e2e', 1_200, { notify: false });
    if (consoleRefund.result !== 'refunded') throw new Error(`console refund ${consoleRefund.result}`);

    const fetched = await provider.fetchBill({ date: '2026-11-28', now: NOW });
    expect(fetched.status === 'ready' && fetched.bill.rows).toEqual([
      expect.objectContaining({ kind: 'payment', paymentId: 'pay_e2e', amount: 5_000, finishedAt: NOW.toISOString() }),
      expect.objectContaining({
        kind: 'refund',
        refundId: consoleRefund.refund.key,
        paymentId: 'pay_e2e',
        amount: 1_200,
        status: 'succeeded',
      }),
    ]);
    await sandbox.stop();
  });
});
