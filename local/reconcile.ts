import { fenToYuan } from '../src/domain/money';
import { isBusinessDate } from '../src/domain/bill';
import { PAYMENT_METHODS } from '../src/domain/payment';
import type { ReconciliationDay, ReconciliationDifference } from '../src/domain/reconciliation';
import { localBaseUrl, localPort } from './settings';

/**
 * `npm run reconcile -- --date YYYY-MM-DD [--provider wechat|alipay|bank]`: reconciles that Beijing
 * day in the local runtime (`npm start` on PORT) as the daily schedule does in AWS, and prints the
 * summary. Exits 0 whenever the run happened: differences are findings, not failures.
 */
const USAGE = `usage: npm run reconcile -- --date YYYY-MM-DD [--provider ${PAYMENT_METHODS.join('|')}]`;

function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

const yuan = (fen: number | undefined) =>
  fen === undefined ? '' : `¥${fen < 0 ? '-' : ''}${fenToYuan(Math.abs(fen))}`;

function side(view: ReconciliationDifference['ours']): string {
  return view ? [view.status, yuan(view.amount)].filter(Boolean).join(' ') : '—';
}

/** Columns as a terminal shows them: Chinese characters (Alipay's 交易, 退款) take two cells. */
const cells = (text: string) =>
  [...text].reduce(
    (width, char) => width + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60]/.test(char) ? 2 : 1),
    0,
  );

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => cells(row[column]!))));
  return rows
    .map((row) => row.map((cell, column) => cell + ' '.repeat(widths[column]! - cells(cell))).join('  '))
    .join('\n');
}

function print(day: ReconciliationDay): void {
  console.log(`Reconciliation of ${day.date} (Beijing business day)\n`);
  const summary = day.providers.map((run) => {
    const open = run.differences.filter((difference) => !difference.healed).length;
    return [
      run.provider,
      run.status,
      String(run.billRows),
      String(run.matched),
      String(run.differences.length),
      String(run.healed),
      String(open),
      String(run.carried),
    ];
  });
  console.log(
    table([['provider', 'status', 'bill rows', 'matched', 'differences', 'healed', 'open', 'carried'], ...summary]),
  );
  const unreconciled = day.providers.filter((candidate) => candidate.detail);
  // The provider's own words, which name the provider already (`alipay: isp.bill_not_exist`).
  if (unreconciled.length > 0)
    console.log(`\nNot reconciled\n${unreconciled.map((run) => `  ${run.status}  ${run.detail}`).join('\n')}`);
  const differences = day.providers.flatMap((run) =>
    run.differences.map((difference) => ({ provider: run.provider, ...difference })),
  );
  if (differences.length === 0) return;
  console.log('\nDifferences');
  console.log(
    table([
      ['provider', 'kind', 'payment', 'refund', 'ours', 'theirs', 'state'],
      ...differences.map((difference) => [
        difference.provider,
        difference.kind,
        difference.paymentId ?? '',
        difference.refundId ?? '',
        side(difference.ours),
        side(difference.theirs),
        difference.healed
          ? `healed: ${difference.resolution ?? ''}`
          : `OPEN${difference.resolution ? `: ${difference.resolution}` : ''}`,
      ]),
    ]),
  );
}

const date = option('date') ?? fail(USAGE);
if (!isBusinessDate(date)) fail(`--date ${date} is not a YYYY-MM-DD date\n${USAGE}`);
const provider = option('provider');
if (provider !== undefined && !(PAYMENT_METHODS as readonly string[]).includes(provider))
  fail(`--provider ${provider} is not one of ${PAYMENT_METHODS.join(', ')}`);

const base = localBaseUrl(localPort());
const response = await fetch(`${base}/_local/reconcile`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ date, ...(provider ? { providers: [provider] } : {}) }),
  signal: AbortSignal.timeout(120_000),
}).catch(() => undefined);
if (!response)
  fail(`The local runtime at ${base} did not answer: start it with npm start (PORT sets another port).`, 1);
if (!response.ok) fail(`The local runtime refused the run (HTTP ${response.status}): ${await response.text()}`, 1);
print((await response.json()) as ReconciliationDay);
