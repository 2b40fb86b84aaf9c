import type { RecordedMetrics } from '../shared/adapters/recorded-metrics';
import type { RecordingEventBus } from '../shared/adapters/recording-event-bus';
import { oldestOpenRefundAgeSeconds } from '../shared/core/in-flight';
import { Metric } from '../shared/core/metric-names';
import type { Repository } from '../shared/core/ports';

/** The five headline figures (docs/ARCHITECTURE.md#observability), computed from the metrics the functions emitted in this run. */
export async function dashboardFigures(input: { metrics: RecordedMetrics; bus: RecordingEventBus; repo: Repository; deadLetterDepth: () => Promise<number> }) {
  const { metrics, bus, repo } = input;
  const ended = ['PaymentSucceeded', 'PaymentFailed', 'PaymentCancelled', 'PaymentExpired'] as const;
  const counts = Object.fromEntries(ended.map((name) => [name, metrics.total(Metric[name])])) as Record<(typeof ended)[number], number>;
  const endedTotal = ended.reduce((sum, name) => sum + counts[name], 0);
  const latencies = metrics.values(Metric.CallbackLatency).sort((a, b) => a - b);
  const percentile = (p: number) =>
    latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]! * 10) / 10 : null;
  const ratio = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : null);
  const recentIds = [
    ...new Set(
      bus.published
        .map((event) => event.detail.paymentId)
        .filter((id): id is string => !!id)
        .reverse(),
    ),
  ].slice(0, 10);
  const recent = await repo.getPayments(recentIds);
  return {
    successRatePercent: ratio(counts.PaymentSucceeded, endedTotal),
    callbackLatencyMs: { p50: percentile(50), p99: percentile(99), samples: latencies.length },
    signatureFailureRatePercent: ratio(metrics.total(Metric.SignatureFailure), metrics.total(Metric.CallbackReceived)),
    timeoutRatePercent: ratio(counts.PaymentExpired, metrics.total(Metric.PaymentsCreated)),
    // Counted as the sweeper counts it for CloudWatch (Metric.PaymentsInFlight), but live.
    paymentsInFlight: await repo.countOpenPayments(),
    counts: {
      ...counts,
      created: metrics.total(Metric.PaymentsCreated),
      callbacks: metrics.total(Metric.CallbackReceived),
      signatureProbes: metrics.total(Metric.SignatureProbe),
      latePayments: metrics.total(Metric.LatePayment),
      duplicatePayments: metrics.total(Metric.DuplicatePayment),
    },
    refunds: {
      requested: metrics.total(Metric.RefundRequested),
      succeeded: metrics.total(Metric.RefundSucceeded),
      failed: metrics.total(Metric.RefundFailed),
      abnormal: metrics.total(Metric.RefundAbnormal),
      external: metrics.total(Metric.ExternalRefund),
      refundedFen: bus.published.filter((event) => event.type === 'RefundSucceeded').reduce((sum, event) => sum + (event.detail.amount ?? 0), 0),
      // Live, as the sweeper reports it to CloudWatch (Metric.OldestOpenRefundAgeSeconds).
      oldestOpenSeconds: await oldestOpenRefundAgeSeconds(repo, new Date()),
    },
    deadLetterDepth: await input.deadLetterDepth(),
    recentPayments: recent.map((payment) => ({
      paymentId: payment.paymentId,
      orderId: payment.orderId,
      method: payment.method,
      amount: payment.amount,
      status: payment.status,
      logs: payment.logs,
    })),
    recentEvents: bus.published
      .slice(-20)
      .reverse()
      .map((event) => ({ type: event.type, at: event.occurredAt, paymentId: event.detail.paymentId, orderId: event.detail.orderId })),
  };
}

/** A small page that polls the figures every two seconds. No external assets. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Payments — local dashboard</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1d2433;background:#f6f7fb}
h1{font-size:20px}.grid{display:grid;grid-template-columns:repeat(5,1fr);gap:12px}
.card{background:#fff;border-radius:10px;padding:14px;box-shadow:0 1px 3px #0002}
.card b{display:block;font-size:26px;margin-top:6px}.muted{color:#6b7280}
table{border-collapse:collapse;width:100%;background:#fff;margin-top:16px}td,th{padding:6px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
code{font-size:12px}
</style></head><body>
<h1>Payments — local dashboard <span class="muted" id="updated"></span></h1>
<div class="grid">
<div class="card">Payment success rate<b id="success">–</b></div>
<div class="card">Callback latency p50 / p99<b id="latency">–</b></div>
<div class="card">Signature failure rate<b id="sigfail">–</b></div>
<div class="card">Timeout rate<b id="timeout">–</b></div>
<div class="card">Payments in flight<b id="inflight">–</b></div>
</div>
<p class="muted" id="counts"></p>
<p class="muted" id="refunds"></p>
<h2>Recent payments</h2><table><thead><tr><th>Payment</th><th>Method</th><th>Amount (fen)</th><th>Status</th><th>Timeline</th></tr></thead><tbody id="payments"></tbody></table>
<h2>Recent events</h2><table><tbody id="events"></tbody></table>
<script>
const pct = (v) => v === null ? '–' : v + '%';
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
async function refresh() {
  const f = await (await fetch('/_local/dashboard.json')).json();
  document.getElementById('success').textContent = pct(f.successRatePercent);
  document.getElementById('latency').textContent = f.callbackLatencyMs.p50 === null ? '–' : f.callbackLatencyMs.p50 + ' / ' + f.callbackLatencyMs.p99 + ' ms';
  document.getElementById('sigfail').textContent = pct(f.signatureFailureRatePercent);
  document.getElementById('timeout').textContent = pct(f.timeoutRatePercent);
  document.getElementById('inflight').textContent = f.paymentsInFlight;
  document.getElementById('counts').textContent = Object.entries(f.counts).map(([k, v]) => k + ': ' + v).join(' · ') + ' · DLQ depth: ' + f.deadLetterDepth;
  document.getElementById('refunds').textContent = 'Refunds: ' + Object.entries(f.refunds).map(([k, v]) => k + ': ' + v).join(' · ');
  document.getElementById('payments').innerHTML = f.recentPayments.map((p) => '<tr><td><code>' + esc(p.paymentId) + '</code></td><td>' + esc(p.method) + '</td><td>' + p.amount + '</td><td>' + esc(p.status) + '</td><td>' + p.logs.map((l) => esc((l.from || '∅') + '→' + l.to + ' (' + l.reason + ')')).join('<br>') + '</td></tr>').join('');
  document.getElementById('events').innerHTML = f.recentEvents.map((e) => '<tr><td>' + esc(e.at) + '</td><td>' + esc(e.type) + '</td><td><code>' + esc(e.paymentId || e.orderId) + '</code></td></tr>').join('');
  document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
}
refresh(); setInterval(refresh, 2000);
</script></body></html>`;
