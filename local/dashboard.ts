import type { RecordedMetrics } from './recorded-metrics';
import type { RecordingEventBus } from './recording-event-bus';
import { oldestOpenRefundAgeSeconds } from '../src/core/sweeper/in-flight';
import { Metric } from '../src/core/kernel/metric-names';
import type { Repository } from '../src/core/kernel/ports';
import { type Fen, fenToYuan, isFen } from '../src/domain/money';
import type { DifferenceSide, ProviderReconciliation, ReconciliationDifference } from '../src/domain/reconciliation';
import { dashboardSeries, percentile, ratioPercent } from './dashboard-series';

export { DASHBOARD_HTML } from './dashboard-page';

export interface DashboardInput {
  metrics: RecordedMetrics;
  bus: RecordingEventBus;
  repo: Repository;
  deadLetterDepth: () => Promise<number>;
  /** The latest reconciliation of each provider; absent until a reconciliation store is wired in. */
  latestReconciliations?: () => Promise<ProviderReconciliation[]>;
  /** Width of the time series' buckets (`?bucket=`); absent: adaptive (local/dashboard-series.ts). */
  bucketSeconds?: number;
  now?: () => Date;
}

export type DashboardFigures = Awaited<ReturnType<typeof dashboardFigures>>;

/** Amounts reach the page already in yuan, formatted on integers (never floating point). */
function yuan(fen: Fen | undefined): string | undefined {
  return isFen(fen) ? fenToYuan(fen) : undefined;
}

/**
 * The five headline figures (docs/ARCHITECTURE.md#observability) for the whole run and over time,
 * refunds, the latest reconciliations, recent payments and events: what the local dashboard shows.
 */
export async function dashboardFigures(input: DashboardInput) {
  const { metrics, bus, repo } = input;
  const now = input.now?.() ?? new Date();
  const ended = ['PaymentSucceeded', 'PaymentFailed', 'PaymentCancelled', 'PaymentExpired'] as const;
  const counts = Object.fromEntries(ended.map((name) => [name, metrics.total(Metric[name])])) as Record<
    (typeof ended)[number],
    number
  >;
  const endedTotal = ended.reduce((sum, name) => sum + counts[name], 0);
  const latencies = metrics.values(Metric.CallbackLatency).sort((a, b) => a - b);
  return {
    successRatePercent: ratioPercent(counts.PaymentSucceeded, endedTotal),
    callbackLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), samples: latencies.length },
    signatureFailureRatePercent: ratioPercent(
      metrics.total(Metric.SignatureFailure),
      metrics.total(Metric.CallbackReceived),
    ),
    timeoutRatePercent: ratioPercent(counts.PaymentExpired, metrics.total(Metric.PaymentsCreated)),
    // Counted as the sweeper counts it for CloudWatch (Metric.PaymentsInFlight), but live.
    paymentsInFlight: await repo.countOpenPayments(),
    series: dashboardSeries(metrics.samples, now.getTime(), input.bucketSeconds),
    counts: {
      ...counts,
      created: metrics.total(Metric.PaymentsCreated),
      callbacks: metrics.total(Metric.CallbackReceived),
      signatureFailures: metrics.total(Metric.SignatureFailure),
      signatureProbes: metrics.total(Metric.SignatureProbe),
      latePayments: metrics.total(Metric.LatePayment),
      duplicatePayments: metrics.total(Metric.DuplicatePayment),
    },
    refunds: await refundFigures(input, now),
    ...(await latestReconciliations(input)),
    deadLetterDepth: await input.deadLetterDepth(),
    recentPayments: await recentPayments(bus, repo),
    recentEvents: bus.published
      .slice(-20)
      .reverse()
      .map((event) => ({
        type: event.type,
        at: event.occurredAt,
        paymentId: event.detail.paymentId,
        orderId: event.detail.orderId,
      })),
  };
}

async function refundFigures({ metrics, bus, repo }: DashboardInput, now: Date) {
  const refundedFen = bus.published
    .filter((event) => event.type === 'RefundSucceeded')
    .reduce((sum, event) => sum + (event.detail.amount ?? 0), 0);
  return {
    requested: metrics.total(Metric.RefundRequested),
    succeeded: metrics.total(Metric.RefundSucceeded),
    failed: metrics.total(Metric.RefundFailed),
    abnormal: metrics.total(Metric.RefundAbnormal),
    external: metrics.total(Metric.ExternalRefund),
    refundedFen,
    refundedYuan: yuan(refundedFen),
    // Live, as the sweeper reports it to CloudWatch (Metric.OldestOpenRefundAgeSeconds).
    oldestOpenSeconds: await oldestOpenRefundAgeSeconds(repo, now),
  };
}

/** The payments the latest events were about, newest first. */
async function recentPayments(bus: RecordingEventBus, repo: Repository) {
  const recentIds = [
    ...new Set(
      bus.published
        .map((event) => event.detail.paymentId)
        .filter((id): id is string => !!id)
        .reverse(),
    ),
  ].slice(0, 10);
  return (await repo.getPayments(recentIds)).map((payment) => ({
    paymentId: payment.paymentId,
    orderId: payment.orderId,
    method: payment.method,
    amount: payment.amount,
    amountYuan: yuan(payment.amount),
    status: payment.status,
    logs: payment.logs,
  }));
}

/** A store that cannot be read leaves the panel saying so; the rest of the dashboard still shows. */
async function latestReconciliations(
  input: DashboardInput,
): Promise<{ reconciliation: ReconciliationView[]; reconciliationError?: string }> {
  try {
    return { reconciliation: reconciliationView((await input.latestReconciliations?.()) ?? []) };
  } catch (error) {
    return { reconciliation: [], reconciliationError: `the reconciliation store could not be read: ${String(error)}` };
  }
}

export type ReconciliationView = ReturnType<typeof reconciliationView>[number];

const sideInYuan = (side: DifferenceSide | undefined) => side && { ...side, amountYuan: yuan(side.amount) };

/** Each provider's latest reconciliation with its amounts also in yuan and its open differences counted. */
export function reconciliationView(reconciliations: readonly ProviderReconciliation[]) {
  const difference = (item: ReconciliationDifference) => ({
    ...item,
    ours: sideInYuan(item.ours),
    theirs: sideInYuan(item.theirs),
  });
  return [...reconciliations]
    .sort((a, b) => a.provider.localeCompare(b.provider))
    .map((reconciliation) => ({
      ...reconciliation,
      open: reconciliation.differences.filter((item) => !item.healed).length,
      differences: reconciliation.differences.map(difference),
    }));
}
