/**
 * The local dashboard's page: it polls /_local/dashboard.json every two seconds and draws the
 * figures itself, charts as inline SVG. No external assets, no chart library: it works offline.
 * Everything that comes from data is escaped; amounts arrive already in yuan (local/dashboard.ts).
 */

const STYLE = `
:root{--ink:#1d2433;--muted:#6b7280;--line:#e5e7eb;--bg:#f6f7fb;--ok:#15803d;--bad:#b91c1c;--warn:#b45309;--blue:#2563eb;--violet:#7c3aed}
body{font:14px system-ui,sans-serif;margin:24px;color:var(--ink);background:var(--bg)}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}h3{font-size:15px;margin:0 0 8px}
.muted{color:var(--muted)}nav a{margin-right:8px}nav a.current{font-weight:700;text-decoration:none;color:var(--ink)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:12px}
.card,.panel{background:#fff;border-radius:10px;padding:14px;box-shadow:0 1px 3px #0002}
.card b{display:block;font-size:26px;margin:6px 0}
svg.chart{width:100%;height:auto;display:block}svg.chart text{font-size:10px;fill:var(--muted)}svg.chart .latest{fill:var(--ink);font-weight:600}
svg.chart .axis{stroke:#9ca3af}svg.chart .gridline{stroke:var(--line)}svg.chart .series{fill:none;stroke-width:2}
.panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:12px;margin-top:12px}
.big{font-size:26px;font-weight:700}.chips{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}
.chip{border:1px solid var(--line);border-radius:999px;padding:2px 10px}.chip.warn,.warn{color:var(--bad);border-color:var(--bad);font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.amount,th.amount{text-align:right;font-variant-numeric:tabular-nums}
.recon{border-top:1px solid var(--line);padding-top:12px;margin-top:12px}
.status{border-radius:6px;padding:1px 8px;font-size:12px;color:#fff;background:var(--muted)}.status-reconciled{background:var(--ok)}
.status-failed,.status-bill_missing{background:var(--bad)}.status-bill_not_ready,.status-not_run{background:var(--warn)}
.stats{display:flex;gap:18px;margin:0 0 8px}.stats dt{color:var(--muted);font-size:12px}.stats dd{margin:0;font-size:18px;font-weight:600}
tr.open td{background:#fef2f2}tr.open td:first-child{box-shadow:inset 4px 0 var(--bad)}.state-open{color:var(--bad);font-weight:700}.state-healed{color:var(--ok)}
.empty{padding:12px;border:1px dashed var(--line);border-radius:8px}
code{font-size:12px}`;

const BODY = `
<h1>Payments — local dashboard <span class="muted" id="updated"></span></h1>
<nav class="muted">Buckets: <a href="?">adaptive</a><a href="?bucket=5">5 s</a><a href="?bucket=60">1 min</a><a href="?bucket=300">5 min</a><a href="?bucket=3600">1 h</a></nav>
<h2>The five figures <span class="muted" id="window"></span></h2>
<div class="grid">
<div class="card">Payment success rate<b id="success">–</b><div id="chart-success"></div></div>
<div class="card">Callback latency p50 / p99<b id="latency">–</b><div id="chart-latency"></div></div>
<div class="card">Signature failure rate<b id="sigfail">–</b><div id="chart-sigfail"></div></div>
<div class="card">Timeout rate<b id="timeout">–</b><div id="chart-timeout"></div></div>
<div class="card">Payments in flight<b id="inflight">–</b><div id="chart-inflight"></div></div>
</div>
<div class="panels">
<section class="panel" id="refunds" aria-labelledby="refunds-title"><h3 id="refunds-title">Refunds</h3><div id="refunds-body"></div></section>
<section class="panel" id="operations" aria-labelledby="operations-title"><h3 id="operations-title">Operations</h3><div id="operations-body"></div></section>
</div>
<section class="panel" id="reconciliation" aria-labelledby="reconciliation-title" style="margin-top:12px"><h3 id="reconciliation-title">Reconciliation — latest per provider</h3><div id="reconciliation-body"></div></section>
<h2>Recent payments</h2><table><thead><tr><th>Payment</th><th>Method</th><th class="amount">Amount</th><th>Status</th><th>Timeline</th></tr></thead><tbody id="payments"></tbody></table>
<h2>Recent events</h2><table><tbody id="events"></tbody></table>`;

/** Draws one line chart as an SVG string: axes with labels, every series, its latest value, a title and description for screen readers. */
const CHART_SCRIPT = `
const W = 300, H = 150, L = 38, R = 10, T = 22, B = 26;
const niceMax = (max) => { if (!(max > 0)) return 1; const step = Math.pow(10, Math.floor(Math.log10(max))); return [1, 2, 5, 10].map((m) => m * step).find((v) => v >= max); };
const lastValue = (values) => { for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i]; return null; };
const clock = (iso, bucketSeconds) => bucketSeconds >= 3600 ? String(iso).slice(5, 16).replace('T', ' ') : String(iso).slice(11, 19);
const num = (v) => String(Number(v));
const withUnit = (v, unit) => v === null ? '–' : num(v) + (unit === '%' ? '%' : unit ? ' ' + unit : '');
/**
 * Gaps (buckets without a value) are bridged; every value is a dot whose title (a hover tooltip)
 * says when, what and of what. A sparse series (a count) draws its line through zeros but dots only what happened.
 */
function seriesPath(spec, s, x, y) {
  const points = s.values.map((v, i) => v === null || (s.sparse && v === 0) ? null : { x: x(i), y: y(v), label: clock(spec.starts[i], spec.bucketSeconds) + ' ' + s.name + ': ' + withUnit(v, spec.unit) + (s.note ? ' (' + s.note(i) + ')' : '') }).filter(Boolean);
  const linePoints = s.values.map((v, i) => v === null ? null : x(i).toFixed(1) + ' ' + y(v).toFixed(1)).filter(Boolean);
  const line = linePoints.length > 1 ? '<path class="series" d="M' + linePoints.join(' L') + '"/>' : '';
  const dots = points.map((p) => '<circle class="point" r="2.5" cx="' + p.x.toFixed(1) + '" cy="' + p.y.toFixed(1) + '"><title>' + esc(p.label) + '</title></circle>').join('');
  return { line, dots, count: points.length };
}
function chartAxes(spec, top, n) {
  const unit = spec.unit ? ' ' + spec.unit : '';
  const ys = [0, top / 2, top].filter((v) => !spec.integer || Number.isInteger(v));
  const y = (v) => H - B - (v / top) * (H - T - B);
  const grid = ys.map((v) => '<line class="gridline" x1="' + L + '" x2="' + (W - R) + '" y1="' + y(v) + '" y2="' + y(v) + '"/><text x="' + (L - 4) + '" y="' + (y(v) + 3) + '" text-anchor="end">' + esc(num(v)) + '</text>').join('');
  const axes = '<line class="axis" x1="' + L + '" x2="' + L + '" y1="' + T + '" y2="' + (H - B) + '"/><line class="axis" x1="' + L + '" x2="' + (W - R) + '" y1="' + (H - B) + '" y2="' + (H - B) + '"/>';
  const first = clock(spec.starts[0], spec.bucketSeconds), last = clock(spec.starts[n - 1], spec.bucketSeconds);
  const xLabels = '<text x="' + L + '" y="' + (H - 8) + '">' + esc(first) + '</text><text x="' + ((L + W - R) / 2) + '" y="' + (H - 8) + '" text-anchor="middle">per ' + esc(spec.bucketSeconds) + ' s (UTC)</text><text x="' + (W - R) + '" y="' + (H - 8) + '" text-anchor="end">' + esc(last) + '</text>';
  return { svg: grid + axes + xLabels + '<text x="' + L + '" y="' + (T - 8) + '">' + esc(spec.axisTitle + unit) + '</text>', y, first, last };
}
function chart(spec) {
  const n = spec.starts.length;
  const values = spec.series.flatMap((s) => s.values).filter((v) => v !== null);
  const top = spec.fixedMax || niceMax(Math.max(0, ...values));
  const axes = chartAxes(spec, top, n);
  const x = (i) => L + (n > 1 ? i * (W - L - R) / (n - 1) : 0);
  const drawn = spec.series.map((s) => ({ ...s, ...seriesPath(spec, s, x, axes.y), latest: lastValue(s.values) }));
  const latestText = drawn.map((s) => (drawn.length > 1 ? s.name + ' ' : '') + withUnit(s.latest, spec.unit)).join(' · ');
  const title = spec.title + ' per ' + spec.bucketSeconds + ' s: latest ' + latestText;
  const desc = n + ' buckets from ' + axes.first + ' to ' + axes.last + ' UTC; ' + drawn.map((s) => s.name + ': ' + s.count + ' plotted').join(', ') + '.';
  const id = esc(spec.id);
  return '<svg class="chart" role="img" viewBox="0 0 ' + W + ' ' + H + '" aria-labelledby="' + id + '-title" aria-describedby="' + id + '-desc">' +
    '<title id="' + id + '-title">' + esc(title) + '</title><desc id="' + id + '-desc">' + esc(desc) + '</desc>' + axes.svg +
    drawn.map((s) => '<g class="plotted" data-series="' + esc(s.name) + '" stroke="' + esc(s.color) + '" fill="' + esc(s.color) + '">' + s.line + s.dots + '</g>').join('') +
    (values.length ? '' : '<text class="no-data" x="' + ((L + W - R) / 2) + '" y="' + ((T + H - B) / 2) + '" text-anchor="middle">nothing recorded in this window</text>') +
    '<text class="latest" x="' + (W - R) + '" y="' + (T - 8) + '" text-anchor="end">latest ' + esc(latestText) + '</text></svg>';
}`;

/** The panels: the figures' cards, refunds, operations, reconciliation, recent payments and events. */
const PANELS_SCRIPT = `
const PROVIDERS = { wechat: 'WeChat Pay', alipay: 'Alipay', bank: 'Bank' };
const pct = (v) => v === null ? '–' : v + '%';
const yuan = (text) => text === undefined || text === null ? '–' : '¥' + esc(text);
const set = (id, html) => { document.getElementById(id).innerHTML = html; };
const age = (seconds) => seconds <= 0 ? 'none open' : seconds < 3600 ? Math.floor(seconds / 60) + ' min ' + (seconds % 60) + ' s' : Math.floor(seconds / 3600) + ' h ' + Math.floor((seconds % 3600) / 60) + ' min';
function drawFigures(f) {
  const s = f.series, base = { starts: s.bucketStarts, bucketSeconds: s.bucketSeconds };
  document.getElementById('success').textContent = pct(f.successRatePercent);
  document.getElementById('latency').textContent = f.callbackLatencyMs.p50 === null ? '–' : f.callbackLatencyMs.p50 + ' / ' + f.callbackLatencyMs.p99 + ' ms';
  document.getElementById('sigfail').textContent = pct(f.signatureFailureRatePercent) + ' (' + f.counts.signatureFailures + ')';
  document.getElementById('timeout').textContent = pct(f.timeoutRatePercent) + ' (' + f.counts.PaymentExpired + ')';
  document.getElementById('inflight').textContent = f.paymentsInFlight;
  document.getElementById('window').textContent = 'last ' + s.bucketStarts.length + ' buckets of ' + s.bucketSeconds + ' s';
  set('chart-success', chart({ ...base, id: 'chart-success-svg', title: 'Payment success rate', axisTitle: 'succeeded / ended', unit: '%', fixedMax: 100, series: [{ name: 'success rate', values: s.successRatePercent, color: '#15803d', note: (i) => s.paymentsSucceeded[i] + ' of ' + s.paymentsEnded[i] + ' ended' }] }));
  set('chart-latency', chart({ ...base, id: 'chart-latency-svg', title: 'Callback latency', axisTitle: 'latency', unit: 'ms', series: [{ name: 'p50', values: s.callbackLatencyP50Ms, color: '#2563eb' }, { name: 'p99', values: s.callbackLatencyP99Ms, color: '#7c3aed' }] }));
  set('chart-sigfail', chart({ ...base, id: 'chart-sigfail-svg', title: 'Signature failures', axisTitle: 'refused callbacks', integer: true, series: [{ name: 'signature failures', values: s.signatureFailures, sparse: true, color: '#b91c1c' }] }));
  set('chart-timeout', chart({ ...base, id: 'chart-timeout-svg', title: 'Timeouts', axisTitle: 'expired payments', integer: true, series: [{ name: 'timeouts', values: s.timeouts, sparse: true, color: '#b45309' }] }));
  set('chart-inflight', chart({ ...base, id: 'chart-inflight-svg', title: 'Payments in flight', axisTitle: "sweeper's gauge", integer: true, series: [{ name: 'in flight', values: s.paymentsInFlight, color: '#0f766e' }] }));
}
function chip(label, value, bad) { return '<span class="chip' + (bad && value > 0 ? ' warn' : '') + '">' + esc(label) + ': ' + esc(num(value)) + '</span>'; }
function drawRefunds(r) {
  set('refunds-body', '<div class="big" id="refunded">' + yuan(r.refundedYuan) + ' refunded</div>' +
    '<div class="chips">' + chip('requested', r.requested) + chip('succeeded', r.succeeded) + chip('failed', r.failed, true) + chip('abnormal', r.abnormal, true) + chip('external', r.external, true) + '</div>' +
    '<div>Oldest open refund: <span id="oldest-refund" class="' + (r.oldestOpenSeconds > 86400 ? 'warn' : '') + '">' + esc(age(r.oldestOpenSeconds)) + '</span></div>');
}
function drawOperations(f) {
  const c = f.counts;
  set('operations-body', '<div class="chips">' + chip('DLQ depth', f.deadLetterDepth, true) + chip('payments created', c.created) + chip('succeeded', c.PaymentSucceeded) + chip('failed', c.PaymentFailed) + chip('cancelled', c.PaymentCancelled) + chip('expired', c.PaymentExpired) + '</div>' +
    '<div class="chips">' + chip('callbacks', c.callbacks) + chip('signature failures', c.signatureFailures, true) + chip('signature probes', c.signatureProbes) + chip('late payments', c.latePayments, true) + chip('duplicate payments', c.duplicatePayments, true) + '</div>');
}
function drawRecent(f) {
  set('payments', f.recentPayments.map((p) => '<tr><td><code>' + esc(p.paymentId) + '</code></td><td>' + esc(PROVIDERS[p.method] || p.method) + '</td><td class="amount">' + yuan(p.amountYuan) + '</td><td>' + esc(p.status) + '</td><td>' + p.logs.map((l) => esc((l.from || '∅') + '→' + l.to + ' (' + l.reason + ')')).join('<br>') + '</td></tr>').join(''));
  set('events', f.recentEvents.map((e) => '<tr><td>' + esc(e.at) + '</td><td>' + esc(e.type) + '</td><td><code>' + esc(e.paymentId || e.orderId) + '</code></td></tr>').join(''));
}`;

/** The reconciliation panel: one block per provider, its differences with the open ones first and marked. */
const RECONCILIATION_SCRIPT = `
const NOT_COMPARED = {
  bill_not_ready: 'Not compared: the bill is not published yet; asked again on the next run.',
  not_run: 'Not run yet: refund notifications are parked on this day for its reconciliation.',
  bill_missing: 'Not compared: the bill was still missing at the cut-off.',
  failed: 'Not compared: the bill could not be fetched or read; retried on the next run.',
};
const side = (s) => !s ? '–' : esc(s.status || '') + (s.amountYuan ? ' ' + yuan(s.amountYuan) : '');
function differenceRow(d) {
  const ids = [d.paymentId, d.refundId].filter(Boolean).map((id) => '<code>' + esc(id) + '</code>').join('<br>') + (d.providerTransactionId ? '<br><span class="muted">' + esc(d.providerTransactionId) + '</span>' : '');
  const state = d.healed ? '<span class="state-healed">healed</span>' : '<span class="state-open">OPEN</span>';
  return '<tr class="' + (d.healed ? 'healed' : 'open') + '"><td>' + esc(String(d.kind).replace(/_/g, ' ')) + '</td><td>' + ids + '</td><td class="amount">' + side(d.ours) + '</td><td class="amount">' + side(d.theirs) + '</td><td>' + state + (d.resolution ? '<br><span class="muted">' + esc(d.resolution) + '</span>' : '') + '</td></tr>';
}
function reconciliationBlock(r) {
  const stat = (label, value) => '<div><dt>' + esc(label) + '</dt><dd>' + esc(num(value)) + '</dd></div>';
  const rows = [...r.differences].sort((a, b) => Number(a.healed) - Number(b.healed)).map(differenceRow).join('');
  const table = r.differences.length ? '<table class="differences"><thead><tr><th>Difference</th><th>Payment / refund</th><th class="amount">Ours</th><th class="amount">Theirs</th><th>State</th></tr></thead><tbody>' + rows + '</tbody></table>'
    : '<p class="muted">' + esc(NOT_COMPARED[r.status] || 'Bill and ledger agree: no differences.') + '</p>';
  return '<article class="recon" data-provider="' + esc(r.provider) + '"><h3>' + esc(PROVIDERS[r.provider] || r.provider) + ' · ' + esc(r.date) + ' <span class="status status-' + esc(r.status) + '">' + esc(String(r.status).replace(/_/g, ' ')) + '</span>' +
    (r.open ? ' <span class="chip warn">' + esc(num(r.open)) + ' open</span>' : '') + (r.ranAt ? ' <span class="muted">ran ' + esc(r.ranAt) + '</span>' : '') + '</h3>' +
    (r.detail ? '<p class="warn">' + esc(r.detail) + '</p>' : '') +
    '<dl class="stats">' + stat('Bill rows', r.billRows) + stat('Matched', r.matched) + stat('Healed', r.healed) + stat('Carried', r.carried) + '</dl>' + table + '</article>';
}
function drawReconciliation(list, error) {
  if (error) return set('reconciliation-body', '<p class="warn" id="reconciliation-error">' + esc(error) + '</p>');
  set('reconciliation-body', list.length ? list.map(reconciliationBlock).join('') : '<p class="empty" id="no-reconciliation">No reconciliation has run yet — <code>npm run reconcile -- --date YYYY-MM-DD</code></p>');
}`;

const ESCAPE_SCRIPT = `
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));`;

/** Polls the figures (with the page's own `?bucket=`) and redraws; a failed poll says so instead of showing stale figures silently. */
const MAIN_SCRIPT = `
const bucket = new URLSearchParams(location.search).get('bucket');
for (const a of document.querySelectorAll('nav a')) if ((new URL(a.href).searchParams.get('bucket') || null) === bucket) a.className = 'current';
async function refresh() {
  const response = await fetch('/_local/dashboard.json' + (bucket ? '?bucket=' + encodeURIComponent(bucket) : ''));
  const f = await response.json();
  if (!response.ok) throw new Error((f.error && f.error.message) || 'HTTP ' + response.status);
  drawFigures(f); drawRefunds(f.refunds); drawOperations(f); drawReconciliation(f.reconciliation, f.reconciliationError); drawRecent(f);
  document.getElementById('updated').textContent = 'updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
}
const poll = () => refresh().catch((error) => { document.getElementById('updated').textContent = 'update failed: ' + error; });
poll(); setInterval(poll, 2000);`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Payments — local dashboard</title>
<style>${STYLE}</style></head><body>${BODY}
<script>${ESCAPE_SCRIPT}${CHART_SCRIPT}${PANELS_SCRIPT}${RECONCILIATION_SCRIPT}${MAIN_SCRIPT}</script></body></html>`;
