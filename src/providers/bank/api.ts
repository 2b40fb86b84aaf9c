import { BillFormatError, isBusinessDate, type BusinessDate } from '../../domain/bill';
import { assertFen } from '../../domain/money';
import { parseBankSettlementReport } from './settlement';
import { type ProviderSender } from '../kit/http';
import {
  ProviderCallError,
  type BillFetch,
  type ProviderRefundState,
  type RefundRequest,
} from '../../core/payments/provider';
import { parseJsonText } from '../kit/parse';
import { checkRefundAnswer, type ExpectedRefund } from '../kit/refund-answers';
import { type KeyedBankConfig, answerSigned, requestSignature } from './signatures';
import {
  type BankRefundRequestBody,
  type BankRefundStatus,
  BANK_REFUND_OUTCOMES,
  BANK_REFUND_STATUSES,
  BANK_SIGNATURE_HEADER,
  BankErrorSchema,
  BankRefundSchema,
} from './wire';

type RefundOperation = 'refund' | 'queryRefund';
type BankOperation = RefundOperation | 'fetchBill';

interface BankAnswer {
  status: number;
  headers: { get(name: string): string | null };
  body: string;
  /** The exact bytes the bank signed. */
  bytes: Buffer;
}

function isBankRefundStatus(status: string): status is BankRefundStatus {
  return (BANK_REFUND_STATUSES as readonly string[]).includes(status);
}

/**
 * One signed request to the bank's API (retried and timed out by `sender`; a retry of a refund is
 * the same refund, by its Idempotency-Key). A network failure, a 5xx or an answer the bank did not
 * sign leaves the outcome unknown: retryable, never a refusal. `csv` asks for the settlement
 * report, whose signature covers its raw bytes.
 */
async function sendToBank(
  config: KeyedBankConfig,
  sender: ProviderSender,
  operation: BankOperation,
  request: {
    method: 'GET' | 'POST';
    path: string;
    body: string;
    headers?: Record<string, string>;
    csv?: boolean;
    now: Date;
  },
): Promise<BankAnswer> {
  const { method, path, body, csv = false, now } = request;
  const url = new URL(config.gatewayUrl);
  url.search = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  const response = await sender(operation, () => ({
    url: url.toString(),
    method,
    headers: {
      Accept: csv ? 'text/csv, application/json' : 'application/json',
      ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}),
      'Bank-Signature': requestSignature(config.signingSecret, method, path, body, now),
      ...request.headers,
    },
    ...(method === 'POST' ? { body } : {}),
    ...(csv ? { binary: true } : {}),
  }));
  if (response.status >= 500) throw new ProviderCallError('bank', operation, `HTTP ${response.status}`);
  const bytes = response.bytes ?? Buffer.from(response.body, 'utf8');
  if (!answerSigned(config, response.headers.get(BANK_SIGNATURE_HEADER), bytes, now)) {
    throw new ProviderCallError('bank', operation, `HTTP ${response.status} answer is not signed by the bank`);
  }
  return { status: response.status, headers: response.headers, body: response.body, bytes };
}

/** A refund object about the refund we asked for → its state; anything else is unknown (retryable). */
function refundStateOf(operation: RefundOperation, answer: BankAnswer, expected: ExpectedRefund): ProviderRefundState {
  const fail = (message: string) => new ProviderCallError('bank', operation, message);
  const parsed = BankRefundSchema.safeParse(parseJsonText(answer.body));
  if (!parsed.success) throw fail(`HTTP ${answer.status} answer is not a bank refund`);
  const refund = parsed.data;
  checkRefundAnswer('bank', operation, expected, {
    refundId: refund.refund_id,
    paymentId: refund.payment_id,
    amount: refund.amount,
    currency: refund.currency,
  });
  if (!isBankRefundStatus(refund.status)) throw fail(`unknown refund status ${refund.status}`);
  const outcome = BANK_REFUND_OUTCOMES[refund.status];
  if (outcome === 'failed')
    return {
      status: 'failed',
      providerStatus: refund.status,
      reason: refund.failure_reason ?? 'the bank failed the refund',
    };
  if (outcome !== 'succeeded') return { status: outcome, providerStatus: refund.status };
  if (!refund.succeeded_at) throw fail('succeeded without succeeded_at');
  return {
    status: 'succeeded',
    amount: refund.amount,
    succeededAt: new Date(refund.succeeded_at).toISOString(),
    providerStatus: refund.status,
  };
}

/** A signed 4xx with the bank's error code is a definite refusal (429, rate limiting, is not). */
function refusalOf(answer: BankAnswer): ProviderRefundState | undefined {
  if (answer.status < 400 || answer.status === 429) return undefined;
  const parsed = BankErrorSchema.safeParse(parseJsonText(answer.body));
  if (!parsed.success) return undefined;
  const { code, message } = parsed.data.error;
  return { status: 'failed', providerStatus: code, reason: `${code}${message ? `: ${message}` : ''}` };
}

export async function createRefund(
  config: KeyedBankConfig,
  sender: ProviderSender,
  request: RefundRequest,
): Promise<ProviderRefundState> {
  const body: BankRefundRequestBody = {
    refund_id: request.refundId,
    payment_id: request.paymentId,
    amount: assertFen(request.amount),
    currency: request.currency,
    ...(request.reason ? { reason: request.reason } : {}),
  };
  const answer = await sendToBank(config, sender, 'refund', {
    method: 'POST',
    path: '/refunds',
    body: JSON.stringify(body),
    headers: { 'Idempotency-Key': request.refundId },
    now: request.now,
  });
  if (answer.status === 200 || answer.status === 201) return refundStateOf('refund', answer, request);
  const refusal = refusalOf(answer);
  if (refusal) return refusal;
  throw new ProviderCallError('bank', 'refund', `HTTP ${answer.status}`);
}

export async function queryRefund(
  config: KeyedBankConfig,
  sender: ProviderSender,
  request: { refundId: string; paymentId: string; now: Date },
): Promise<ProviderRefundState> {
  const path = `/refunds/${encodeURIComponent(request.refundId)}`;
  const answer = await sendToBank(config, sender, 'queryRefund', { method: 'GET', path, body: '', now: request.now });
  if (answer.status === 200) return refundStateOf('queryRefund', answer, request);
  const error = BankErrorSchema.safeParse(parseJsonText(answer.body));
  if (answer.status === 404 && error.success && error.data.error.code === 'refund_not_found')
    return { status: 'not_found', providerStatus: 'refund_not_found' };
  throw new ProviderCallError(
    'bank',
    'queryRefund',
    `HTTP ${answer.status}${error.success ? ` ${error.data.error.code}` : ''}`,
  );
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The signed 200's bytes as text: it must say it is UTF-8 CSV, and be it. */
function reportText(answer: BankAnswer): string {
  const contentType = answer.headers.get('content-type') ?? '';
  const [mediaType = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  if (mediaType !== 'text/csv' || (charset !== undefined && charset.replace(/"/g, '') !== 'charset=utf-8')) {
    throw new BillFormatError(`the report answer is ${JSON.stringify(contentType)}, not UTF-8 text/csv`);
  }
  try {
    return UTF8.decode(answer.bytes);
  } catch {
    throw new BillFormatError('the report is not valid UTF-8');
  }
}

/**
 * The day's settlement report: 200 CSV → `ready`; `409 report_not_ready` (the day is not over)
 * → `not_ready`. A day without activity is a 200 report with no rows: `ready` with an empty bill,
 * the bank's signed word that nothing happened. Anything else is thrown, retryable.
 */
export async function fetchSettlementReport(
  config: KeyedBankConfig,
  sender: ProviderSender,
  { date, now }: { date: BusinessDate; now: Date },
): Promise<BillFetch> {
  if (!isBusinessDate(date))
    throw new ProviderCallError('bank', 'fetchBill', `${JSON.stringify(date)} is not a YYYY-MM-DD date`, false);
  const answer = await sendToBank(config, sender, 'fetchBill', {
    method: 'GET',
    path: `/settlement-reports/${date}`,
    body: '',
    csv: true,
    now,
  });
  if (answer.status === 200) return { status: 'ready', bill: parseBankSettlementReport(reportText(answer), date) };
  const error = BankErrorSchema.safeParse(parseJsonText(answer.body));
  const code = error.success ? error.data.error.code : undefined;
  if (answer.status === 409 && code === 'report_not_ready') return { status: 'not_ready', providerStatus: code };
  throw new ProviderCallError('bank', 'fetchBill', `HTTP ${answer.status}${code ? ` ${code}` : ''}`);
}
