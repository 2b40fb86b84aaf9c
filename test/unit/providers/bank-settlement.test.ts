import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createBankSimulator } from '../../../local/sandbox/bank';
import type { CheckoutStore, SandboxCheckout, SandboxResponse } from '../../../local/sandbox/types';
import { BillFormatError, type BillRow } from '../../../src/domain/bill';
import { createBankProvider, parseBankSettlementReport } from '../../../src/providers/bank';
import { readCsvRecords } from '../../../src/providers/bank/settlement';
import { ProviderCallError } from '../../../src/core/payments/provider';
import {
  BANK_REPORT_DATE,
  BANK_REPORT_HEADER,
  BANK_REPORT_LINES,
  BANK_REPORT_TRAILER,
  bankReport,
  bankRequestSignature,
  bankSimulatorFetch,
  bankTestKeys,
  bankV1,
  memoryCheckoutStore,
  type SentBankRequest,
} from '../../support/bank-fixtures';

const keys = bankTestKeys();
const [currentSecret = '', previousSecret = ''] = keys.merchant.webhookSecrets;
const simulator = createBankSimulator(keys.sandbox);
/** One attempt, so that a 5xx test does not wait for retries. */
const HTTP = { timeoutMs: 2_000, attempts: 1, backoffBaseMs: 0 };

/** 10:30 Beijing time the next morning, when the reconciliation runs. */
const REPORT_NOW = new Date('2026-11-28T02:30:00.000Z');
const T = Math.floor(REPORT_NOW.getTime() / 1000);
/** During the report's day: 11:00 Beijing time on 2026-11-27. */
const DAY_NOW = new Date('2026-11-27T03:00:00.000Z');

// ---------------------------------------------------------------------------------------------
// The parser, against the hand-written report
// ---------------------------------------------------------------------------------------------

describe('bank settlement report: parser', () => {
  it('reads every row of the report, quoting undone, amounts in fen, times in UTC', () => {
    const bill = parseBankSettlementReport(bankReport(), BANK_REPORT_DATE);
    const payment = (
      paymentId: string,
      providerTransactionId: string,
      amount: number,
      status: string,
      finishedAt: string,
    ): BillRow =>
      ({
        kind: 'payment',
        paymentId,
        providerTransactionId,
        amount,
        status,
        finishedAt,
        providerStatus: status,
      }) as BillRow;
    const refund = (
      refundId: string,
      providerRefundId: string,
      paymentId: string,
      amount: number,
      status: string,
      providerStatus: string,
      finishedAt: string,
    ) =>
      ({
        kind: 'refund',
        refundId,
        providerRefundId,
        paymentId,
        providerTransactionId: paymentId === 'pay_0001' ? 'txn_a1' : 'txn_a2',
        amount,
        status,
        finishedAt,
        providerStatus,
      }) as BillRow;

    expect(bill).toEqual({
      provider: 'bank',
      date: '2026-11-27',
      rows: [
        payment('pay_0001', 'txn_a1', 12_345, 'succeeded', '2026-11-27T01:15:02.000Z'),
        payment('pay_0002,gift', 'txn_a2', 500, 'succeeded', '2026-11-27T15:59:59.000Z'),
        payment('pay_"q"', 'txn_a3', 100, 'reversed', '2026-11-26T16:00:00.000Z'),
        refund('ref_0001', 're_b1', 'pay_0001', 2_345, 'succeeded', 'succeeded', '2026-11-27T02:00:00.000Z'),
        refund('re_b2', 're_b2', 'pay_0001', 1_000, 'succeeded', 'succeeded', '2026-11-27T03:00:00.000Z'),
        refund('ref_0002', 're_b3', 'pay_0002,gift', 200, 'processing', 'pending', '2026-11-27T12:00:00.000Z'),
        refund('ref_0003', 're_b4', 'pay_0001', 300, 'failed', 'failed', '2026-11-27T05:00:00.000Z'),
        refund('ref_0004', 're_b5', 'pay_0001', 50, 'processing', 'requires_action', '2026-11-27T06:00:00.000Z'),
      ],
      totals: { paymentCount: 3, paymentAmount: 12_945, refundAmount: 3_895 },
    });
  });

  it('finds columns by their header names, in any order, and ignores columns it does not read', () => {
    const text = [
      'booked_at,fee,status,currency,amount,bank_refund_id,refund_id,merchant_reference,transaction_id,record_type',
      '2026-11-27T09:15:02+08:00,0,succeeded,CNY,12345,,,"pay_0002,gift",txn_a1,payment',
      '2026-11-27T10:00:00+08:00,0,succeeded,CNY,2345,re_b1,ref_0001,"pay_0002,gift",txn_a1,refund',
      '#totals,refund_amount=2345,refund_count=1,payment_amount=12345,payment_count=1,report_date=2026-11-27,settled_amount=10000',
    ].join('\r\n');

    expect(parseBankSettlementReport(text, BANK_REPORT_DATE).rows).toEqual([
      expect.objectContaining({
        kind: 'payment',
        paymentId: 'pay_0002,gift',
        providerTransactionId: 'txn_a1',
        amount: 12_345,
      }),
      expect.objectContaining({
        kind: 'refund',
        refundId: 'ref_0001',
        providerRefundId: 're_b1',
        paymentId: 'pay_0002,gift',
        amount: 2_345,
      }),
    ]);
  });

  it('a day without activity is a report with no rows and zero totals', () => {
    const empty = bankReport(
      [],
      '#totals,report_date=2026-11-27,payment_count=0,payment_amount=0,refund_count=0,refund_amount=0',
    );
    expect(parseBankSettlementReport(empty, BANK_REPORT_DATE)).toEqual({
      provider: 'bank',
      date: '2026-11-27',
      rows: [],
      totals: { paymentCount: 0, paymentAmount: 0, refundAmount: 0 },
    });
  });

  const [firstPayment = '', , , firstRefund = ''] = BANK_REPORT_LINES;
  const replaceLine = (index: number, line: string) =>
    BANK_REPORT_LINES.map((original, at) => (at === index ? line : original));
  const trailerWith = (from: string, to: string) => BANK_REPORT_TRAILER.replace(from, to);

  it.each([
    ['an empty answer', ''],
    ['no trailer', bankReport(BANK_REPORT_LINES, null)],
    ['a line after the trailer', `${bankReport()}${firstPayment}\r\n`],
    ['a blank line at the end', `${bankReport()}\r\n`],
    ['the trailer in the middle', bankReport([firstPayment, BANK_REPORT_TRAILER, ...BANK_REPORT_LINES.slice(1)])],
    [
      'payment_amount off by one fen',
      bankReport(BANK_REPORT_LINES, trailerWith('payment_amount=12945', 'payment_amount=12946')),
    ],
    ['payment_count off', bankReport(BANK_REPORT_LINES, trailerWith('payment_count=3', 'payment_count=2'))],
    ['refund_amount off', bankReport(BANK_REPORT_LINES, trailerWith('refund_amount=3895', 'refund_amount=3894'))],
    ['refund_count off', bankReport(BANK_REPORT_LINES, trailerWith('refund_count=5', 'refund_count=6'))],
    [
      'a report for another day',
      bankReport(BANK_REPORT_LINES, trailerWith('report_date=2026-11-27', 'report_date=2026-11-26')),
    ],
    ['a trailer without refund_amount', bankReport(BANK_REPORT_LINES, trailerWith(',refund_amount=3895', ''))],
    ['a trailer element that is not key=value', bankReport(BANK_REPORT_LINES, `${BANK_REPORT_TRAILER},oops`)],
    ['a trailer key twice', bankReport(BANK_REPORT_LINES, `${BANK_REPORT_TRAILER},refund_count=5`)],
    ['an unknown record type', bankReport(replaceLine(0, firstPayment.replace('payment,', 'chargeback,')))],
    ['an unknown payment status', bankReport(replaceLine(0, firstPayment.replace('succeeded', 'settled')))],
    [
      'a payment status that is a refund status',
      bankReport(replaceLine(0, firstPayment.replace('succeeded', 'pending'))),
    ],
    [
      'a status named like an object property',
      bankReport(replaceLine(0, firstPayment.replace('succeeded', 'constructor'))),
    ],
    ['an amount in yuan', bankReport(replaceLine(0, firstPayment.replace('12345', '123.45')))],
    ['a negative amount', bankReport(replaceLine(0, firstPayment.replace('12345', '-12345')))],
    ['a zero amount', bankReport(replaceLine(0, firstPayment.replace('12345', '0')))],
    ['an amount with an exponent', bankReport(replaceLine(0, firstPayment.replace('12345', '1e4')))],
    ['an amount with a leading zero', bankReport(replaceLine(0, firstPayment.replace('12345', '012345')))],
    [
      'an amount past the safe range',
      bankReport(replaceLine(0, firstPayment.replace('12345', '99999999999999999999'))),
    ],
    ['another currency', bankReport(replaceLine(0, firstPayment.replace('CNY', 'USD')))],
    ['a time without its offset', bankReport(replaceLine(0, firstPayment.replace('+08:00', '')))],
    [
      'a row booked on the next day',
      bankReport(replaceLine(0, firstPayment.replace('2026-11-27T09:15:02', '2026-11-28T00:00:00'))),
    ],
    [
      'a row booked the day before',
      bankReport(replaceLine(0, firstPayment.replace('2026-11-27T09:15:02+08:00', '2026-11-26T15:59:59Z'))),
    ],
    ['an empty merchant reference', bankReport(replaceLine(0, firstPayment.replace('pay_0001', '')))],
    ['a refund without the bank refund id', bankReport(replaceLine(3, firstRefund.replace('re_b1', '')))],
    ['a refund without a refund id', bankReport(replaceLine(3, firstRefund.replace('ref_0001', '')))],
    ['a row with a field more', bankReport(replaceLine(0, `${firstPayment},x`))],
    ['a row with a field less', bankReport(replaceLine(0, firstPayment.replace('payment,', '')))],
    [
      'a header without status',
      bankReport(BANK_REPORT_LINES, BANK_REPORT_TRAILER, BANK_REPORT_HEADER.replace('status', 'state')),
    ],
    [
      'a header naming a column twice',
      bankReport(BANK_REPORT_LINES, BANK_REPORT_TRAILER, `${BANK_REPORT_HEADER},amount`),
    ],
    [
      'the same payment twice',
      bankReport(
        [firstPayment, firstPayment],
        '#totals,report_date=2026-11-27,payment_count=2,payment_amount=24690,refund_count=0,refund_amount=0',
      ),
    ],
    ['an unclosed quote', bankReport(replaceLine(0, firstPayment.replace('pay_0001', '"pay_0001')))],
    ['a quote inside an unquoted field', bankReport(replaceLine(0, firstPayment.replace('pay_0001', 'pay_"0001')))],
    ['text after a closing quote', bankReport(replaceLine(0, firstPayment.replace('pay_0001', '"pay"_0001')))],
  ])('%s is a BillFormatError', (_case, text) => {
    expect(() => parseBankSettlementReport(text, BANK_REPORT_DATE)).toThrow(BillFormatError);
  });

  it('a disagreeing trailer names what disagrees', () => {
    const text = bankReport(
      BANK_REPORT_LINES,
      BANK_REPORT_TRAILER.replace('payment_amount=12945', 'payment_amount=12946'),
    );
    expect(() => parseBankSettlementReport(text, BANK_REPORT_DATE)).toThrow(
      /paymentAmount is 12946, the rows make 12945/,
    );
  });
});

describe('bank settlement report: RFC 4180 records', () => {
  it.each([
    [
      'plain fields, CRLF',
      'a,b\r\nc,d\r\n',
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
    ],
    [
      'no line end after the last record',
      'a,b\r\nc,d',
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
    ],
    [
      'bare LF line ends',
      'a,b\nc,d\n',
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
    ],
    [
      'a comma, a line break and doubled quotes inside quotes',
      '"x,y","line\r\nbreak","say ""hi"""\r\n',
      [['x,y', 'line\r\nbreak', 'say "hi"']],
    ],
    ['empty fields, quoted and not', ',"",\r\n', [['', '', '']]],
    ['a field that is one quote', '""""\r\n', [['"']]],
    ['spaces are kept', ' a , b \r\n', [[' a ', ' b ']]],
  ])('%s', (_case, text, records) => {
    expect(readCsvRecords(text)).toEqual(records);
  });

  it.each([
    ['an unclosed quote', '"abc\r\n'],
    ['three quotes', '"""\r\n'],
    ['a quote inside an unquoted field', 'ab"c\r\n'],
    ['text after a closing quote', '"ab"c\r\n'],
    ['a bare CR', 'a\rb\r\n'],
  ])('%s is refused', (_case, text) => {
    expect(() => readCsvRecords(text)).toThrow(BillFormatError);
  });
});

// ---------------------------------------------------------------------------------------------
// fetchBill against the simulator
// ---------------------------------------------------------------------------------------------

function paidCheckout(paymentId: string, transactionId: string, amount: number, paidAt: string): SandboxCheckout {
  return {
    provider: 'bank',
    paymentId,
    amount,
    currency: 'CNY',
    description: `Payment ${paymentId}`,
    notifyUrl: 'https://shop.example/api/payments/callback/bank',
    expiresAt: '2026-11-27T04:00:00.000Z',
    state: 'paid',
    transactionId,
    paidAt,
    notificationId: `evt_${paymentId}`,
  };
}

/**
 * A store holding the day's activity at the bank: a paid checkout (and one with a comma in its
 * reference), a refund made through our API (through the simulator) and ended, a console refund,
 * and a paid checkout of the day before and one of another provider that must not show up.
 */
async function storeWithActivity(): Promise<{ store: CheckoutStore; apiRefundKey: string; consoleRefundKey: string }> {
  const store = memoryCheckoutStore();
  store.put(paidCheckout('pay_1', 'txn_1', 12_345, '2026-11-27T01:15:02.000Z'));
  store.put(paidCheckout('pay_2,gift', 'txn_2', 500, '2026-11-27T15:59:59.000Z'));
  store.put(paidCheckout('pay_0', 'txn_0', 700, '2026-11-26T15:59:59.000Z'));
  store.put({ ...paidCheckout('pay_w', 'txn_w', 900, '2026-11-27T02:00:00.000Z'), provider: 'wechat' });

  const bank = createBankProvider({
    config: keys.merchant,
    fetch: bankSimulatorFetch(simulator, store, DAY_NOW),
    http: HTTP,
  });
  const requested = await bank.refund({
    refundId: 'ref_1',
    paymentId: 'pay_1',
    amount: 2_345,
    paymentAmount: 12_345,
    currency: 'CNY',
    notifyUrl: 'https://shop.example/api/payments/callback/bank',
    now: DAY_NOW,
  });
  expect(requested.status).toBe('processing');
  const [apiRefund] = store.refunds.list('pay_1');
  store.refunds.settle('pay_1', apiRefund?.key ?? '', new Date('2026-11-27T03:00:01.000Z'), 'succeeded');

  const consoleRefund = store.refunds.open(
    { paymentId: 'pay_1', amount: 1_000, external: true, settle: 'now' },
    new Date('2026-11-27T05:00:00.000Z'),
  );
  if (consoleRefund.result === 'refused') throw new Error('console refund refused');
  return { store, apiRefundKey: apiRefund?.key ?? '', consoleRefundKey: consoleRefund.refund.key };
}

function reportFetch(
  store: CheckoutStore,
  options: { sent?: SentBankRequest[]; tamper?: (answer: SandboxResponse) => SandboxResponse } = {},
) {
  return createBankProvider({
    config: keys.merchant,
    fetch: bankSimulatorFetch(simulator, store, REPORT_NOW, options),
    http: HTTP,
  });
}

/** Re-signs an answer's (edited) bytes with `secret` at `timestamp`, as the bank (or one who has its secret) would. */
function resigned(answer: SandboxResponse, bytes: Buffer, secret = currentSecret, timestamp = T): SandboxResponse {
  return {
    ...answer,
    bytes,
    headers: { ...answer.headers, 'bank-signature': `t=${timestamp},v1=${bankV1(secret, timestamp, bytes)}` },
  };
}

const editBytes = (answer: SandboxResponse, edit: (text: string) => string) =>
  Buffer.from(edit(answer.bytes?.toString('utf8') ?? ''), 'utf8');

describe('bank settlement report: fetchBill through the simulator', () => {
  it("reads the day's payments and refunds, the console refund under the bank's own id, nothing of other days or providers", async () => {
    const { store, apiRefundKey, consoleRefundKey } = await storeWithActivity();
    const sent: SentBankRequest[] = [];

    const fetched = await reportFetch(store, { sent }).fetchBill({ date: BANK_REPORT_DATE, now: REPORT_NOW });

    expect(fetched).toEqual({
      status: 'ready',
      bill: {
        provider: 'bank',
        date: '2026-11-27',
        rows: [
          {
            kind: 'payment',
            paymentId: 'pay_1',
            providerTransactionId: 'txn_1',
            amount: 12_345,
            status: 'succeeded',
            finishedAt: '2026-11-27T01:15:02.000Z',
            providerStatus: 'succeeded',
          },
          {
            kind: 'payment',
            paymentId: 'pay_2,gift',
            providerTransactionId: 'txn_2',
            amount: 500,
            status: 'succeeded',
            finishedAt: '2026-11-27T15:59:59.000Z',
            providerStatus: 'succeeded',
          },
          {
            kind: 'refund',
            refundId: 'ref_1',
            providerRefundId: apiRefundKey,
            paymentId: 'pay_1',
            providerTransactionId: 'txn_1',
            amount: 2_345,
            status: 'succeeded',
            finishedAt: '2026-11-27T03:00:01.000Z',
            providerStatus: 'succeeded',
          },
          {
            kind: 'refund',
            refundId: consoleRefundKey,
            providerRefundId: consoleRefundKey,
            paymentId: 'pay_1',
            providerTransactionId: 'txn_1',
            amount: 1_000,
            status: 'succeeded',
            finishedAt: '2026-11-27T05:00:00.000Z',
            providerStatus: 'succeeded',
          },
        ],
        totals: { paymentCount: 2, paymentAmount: 12_845, refundAmount: 3_345 },
      },
    });
    expect(consoleRefundKey).toMatch(/^re_/);
    // One signed GET, the signature over the method and the path below gatewayUrl.
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      method: 'GET',
      url: 'http://127.0.0.1:3000/sandbox/bank/pay/settlement-reports/2026-11-27',
      body: '',
    });
    expect(sent[0]?.headers['Bank-Signature']).toBe(
      bankRequestSignature(keys.merchant.signingSecret, T, 'GET', '/settlement-reports/2026-11-27', ''),
    );
  });

  it('serves RFC 4180 CSV: CRLF lines, the reference with a comma quoted, Beijing times, a trailer', async () => {
    const { store } = await storeWithActivity();
    let served: SandboxResponse | undefined;
    await reportFetch(store, { tamper: (answer) => (served = answer) }).fetchBill({
      date: BANK_REPORT_DATE,
      now: REPORT_NOW,
    });

    expect(served?.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = served?.bytes?.toString('utf8').split('\r\n');
    expect(lines?.[0]).toBe(BANK_REPORT_HEADER);
    expect(lines?.[2]).toBe('payment,txn_2,"pay_2,gift",,,500,CNY,succeeded,2026-11-27T23:59:59+08:00');
    expect(lines?.at(-2)).toBe(
      '#totals,report_date=2026-11-27,payment_count=2,payment_amount=12845,refund_count=2,refund_amount=3345',
    );
    expect(lines?.at(-1)).toBe('');
  });

  it('a refund still pending, and one the bank could not pay back (requires_action), read as processing', async () => {
    const store = memoryCheckoutStore();
    store.put(paidCheckout('pay_1', 'txn_1', 12_345, '2026-11-27T01:15:02.000Z'));
    const pending = store.refunds.open(
      { paymentId: 'pay_1', refundId: 'ref_p', amount: 100, settle: 'never' },
      DAY_NOW,
    );
    const stuck = store.refunds.open({ paymentId: 'pay_1', refundId: 'ref_a', amount: 200, settle: 'never' }, DAY_NOW);
    if (stuck.result === 'refused' || pending.result === 'refused') throw new Error('refused');
    store.refunds.settle('pay_1', stuck.refund.key, DAY_NOW, 'abnormal');

    const fetched = await reportFetch(store).fetchBill({ date: BANK_REPORT_DATE, now: REPORT_NOW });

    expect(fetched.status === 'ready' && fetched.bill.rows.filter((row) => row.kind === 'refund')).toEqual([
      expect.objectContaining({
        refundId: 'ref_p',
        status: 'processing',
        providerStatus: 'pending',
        finishedAt: DAY_NOW.toISOString(),
      }),
      expect.objectContaining({ refundId: 'ref_a', status: 'processing', providerStatus: 'requires_action' }),
    ]);
  });

  it('a day without activity is ready with an empty bill (the bank signs an empty report)', async () => {
    const { store } = await storeWithActivity();
    const fetched = await reportFetch(store).fetchBill({ date: '2026-11-25', now: REPORT_NOW });
    expect(fetched).toEqual({
      status: 'ready',
      bill: {
        provider: 'bank',
        date: '2026-11-25',
        rows: [],
        totals: { paymentCount: 0, paymentAmount: 0, refundAmount: 0 },
      },
    });
  });

  it("today's report is served at once (a sandbox does not wait), tomorrow's is not ready", async () => {
    const { store } = await storeWithActivity();
    const bank = reportFetch(store);
    await expect(bank.fetchBill({ date: '2026-11-28', now: REPORT_NOW })).resolves.toMatchObject({ status: 'ready' });
    await expect(bank.fetchBill({ date: '2026-11-29', now: REPORT_NOW })).resolves.toEqual({
      status: 'not_ready',
      providerStatus: 'report_not_ready',
    });
  });

  it('a date that is not YYYY-MM-DD is refused before anything is sent (not retryable)', async () => {
    const sent: SentBankRequest[] = [];
    const error = await reportFetch(memoryCheckoutStore(), { sent })
      .fetchBill({ date: '2026-02-30', now: REPORT_NOW })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({ retryable: false });
    expect(sent).toEqual([]);
  });
});

describe('bank settlement report: verification', () => {
  const fetchTampered = async (tamper: (answer: SandboxResponse) => SandboxResponse) => {
    const { store } = await storeWithActivity();
    return reportFetch(store, { tamper })
      .fetchBill({ date: BANK_REPORT_DATE, now: REPORT_NOW })
      .catch((thrown: unknown) => thrown);
  };
  /** Moves 1 fen from the first payment's row to its trailer too, so the file stays self-consistent. */
  const consistentEdit = (text: string) =>
    text.replace(',12345,', ',12346,').replace('payment_amount=12845', 'payment_amount=12846');

  it('a report edited on the way, its signature kept, is refused as retryable, not read', async () => {
    const error = await fetchTampered((answer) => ({ ...answer, bytes: editBytes(answer, consistentEdit) }));
    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringContaining('not signed by the bank') });
  });

  it.each([
    [
      'no signature',
      (answer: SandboxResponse) => ({ ...answer, headers: { ...answer.headers, 'bank-signature': '' } }),
    ],
    [
      'a signature with a flipped digit',
      (answer: SandboxResponse) => ({
        ...answer,
        headers: { ...answer.headers, 'bank-signature': flipLastHex(answer.headers['bank-signature'] ?? '') },
      }),
    ],
    [
      'a secret the merchant does not know',
      (answer: SandboxResponse) => resigned(answer, answer.bytes ?? Buffer.alloc(0), 'whsec_someone_else_entirely'),
    ],
    [
      'a signature 301 s old',
      (answer: SandboxResponse) => resigned(answer, answer.bytes ?? Buffer.alloc(0), currentSecret, T - 301),
    ],
    [
      'an unsigned 503',
      (): SandboxResponse => ({
        statusCode: 503,
        headers: { 'content-type': 'text/html' },
        body: '<h1>Service Unavailable</h1>',
      }),
    ],
  ])('%s → retryable ProviderCallError', async (_case, tamper) => {
    const error = await fetchTampered(tamper);
    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({ retryable: true });
  });

  it('the same edit signed with the previous secret (a rotation) is the bank’s word and is read', async () => {
    const fetched = await fetchTampered((answer) =>
      resigned(answer, editBytes(answer, consistentEdit), previousSecret),
    );
    expect(fetched).toMatchObject({
      status: 'ready',
      bill: { rows: expect.arrayContaining([expect.objectContaining({ paymentId: 'pay_1', amount: 12_346 })]) },
    });
  });

  it('a signed report that does not read as the format is a BillFormatError, not a retry', async () => {
    const error = await fetchTampered((answer) =>
      resigned(
        answer,
        editBytes(answer, (text) => text.replace(/#totals[^\r]*\r\n$/, '')),
      ),
    );
    expect(error).toBeInstanceOf(BillFormatError);
  });

  it.each([
    [
      'JSON',
      (answer: SandboxResponse) => ({ ...answer, headers: { ...answer.headers, 'content-type': 'application/json' } }),
    ],
    [
      'CSV in another charset',
      (answer: SandboxResponse) => ({
        ...answer,
        headers: { ...answer.headers, 'content-type': 'text/csv; charset=gbk' },
      }),
    ],
    [
      'bytes that are not UTF-8',
      (answer: SandboxResponse) =>
        resigned(answer, Buffer.concat([answer.bytes ?? Buffer.alloc(0), Buffer.from([0xff, 0xfe])])),
    ],
  ])('a signed 200 that is %s is a BillFormatError', async (_case, tamper) => {
    expect(await fetchTampered(tamper)).toBeInstanceOf(BillFormatError);
  });

  it('a 401 from the bank (our signing secret is not the one it holds) is thrown with its code', async () => {
    const { store } = await storeWithActivity();
    const bank = createBankProvider({
      config: { ...keys.merchant, signingSecret: 'sk_not_the_banks_secret_at_all' },
      fetch: bankSimulatorFetch(simulator, store, REPORT_NOW),
      http: HTTP,
    });
    await expect(bank.fetchBill({ date: BANK_REPORT_DATE, now: REPORT_NOW })).rejects.toThrow(
      /HTTP 401 invalid_signature/,
    );
  });
});

function flipLastHex(header: string): string {
  const last = header.at(-1) ?? '0';
  return `${header.slice(0, -1)}${last === '0' ? '1' : '0'}`;
}

describe('bank simulator: the settlement report endpoint', () => {
  const request = (headers: Record<string, string>, path = '/pay/settlement-reports/2026-11-27', method = 'GET') => ({
    method,
    path,
    query: new URLSearchParams(),
    headers,
    body: '',
  });
  const signed = (path: string, method = 'GET', secret = keys.sandbox.signingSecret, timestamp = T) => ({
    'bank-signature': bankRequestSignature(secret, timestamp, method, path, ''),
  });

  it.each([
    ['unsigned', {}],
    ['signed for another day', signed('/settlement-reports/2026-11-26')],
    ['signed with another secret', signed('/settlement-reports/2026-11-27', 'GET', 'sk_someone_else_entirely_0000')],
    ['signed 301 s ago', signed('/settlement-reports/2026-11-27', 'GET', keys.sandbox.signingSecret, T - 301)],
    ['signed as a POST', signed('/settlement-reports/2026-11-27', 'POST')],
  ])('refuses a request %s: 401 invalid_signature, no report', async (_case, headers) => {
    const { store } = await storeWithActivity();
    const answer = await simulator.handle(request(headers), store, REPORT_NOW);
    expect(answer.statusCode).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'invalid_signature' } });
    expect(answer.bytes).toBeUndefined();
  });

  it('answers a signed request with the CSV, and a date that is not one with 400 invalid_request', async () => {
    const { store } = await storeWithActivity();
    const good = await simulator.handle(request(signed('/settlement-reports/2026-11-27')), store, REPORT_NOW);
    expect(good).toMatchObject({ statusCode: 200, headers: { 'content-type': 'text/csv; charset=utf-8' } });
    const bad = await simulator.handle(
      request(signed('/settlement-reports/2026-13-01'), '/pay/settlement-reports/2026-13-01'),
      store,
      REPORT_NOW,
    );
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'invalid_request' } });
  });
});

describe('bank settlement report: over real HTTP with the global fetch', () => {
  it('the bytes the simulator signs are the bytes fetchBill verifies and reads', async () => {
    const { store } = await storeWithActivity();
    // Serves the simulator's answers the way the local runtime does: the bytes when there are some.
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      void simulator
        .handle(
          { method: request.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body: '' },
          store,
          REPORT_NOW,
        )
        .then((answer) => response.writeHead(answer.statusCode, answer.headers).end(answer.bytes ?? answer.body));
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    try {
      const { port } = server.address() as AddressInfo;
      const bank = createBankProvider({
        config: { ...keys.merchant, gatewayUrl: `http://127.0.0.1:${port}/pay` },
        http: HTTP,
      });
      const fetched = await bank.fetchBill({ date: BANK_REPORT_DATE, now: REPORT_NOW });
      expect(fetched.status === 'ready' && fetched.bill.rows.map((row) => row.paymentId)).toEqual([
        'pay_1',
        'pay_2,gift',
        'pay_1',
        'pay_1',
      ]);
    } finally {
      await new Promise((closed) => server.close(closed));
    }
  });
});
