/**
 * The operator's console (`/_local/console`): find orders, payments, refunds, differences and dead
 * letters through the admin API, open one (its timeline, refunds, events, audit) and settle it
 * from buttons that ask for the reason. It calls the same routes as any client, with the admin
 * token pasted in (npm run token -- <you> --admin) or given as `#token=` in the URL. Amounts in yuan,
 * formatted from integer fen.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Payments console</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1d2433}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border-bottom:1px solid #dde;padding:.3rem .5rem;text-align:left}
.amount{text-align:right;font-variant-numeric:tabular-nums}
#waiting span{display:inline-block;margin-right:1rem;padding:.3rem .6rem;border-radius:4px;background:#eef}
#waiting span.alarm{background:#fdd}
button{margin-right:.4rem}#error{color:#b00}tr.row{cursor:pointer}tr.row:hover{background:#f5f7ff}
</style></head><body>
<h1>Payments console</h1>
<p><label>Admin token <input id="token" size="60" placeholder="npm run token -- you --admin"></label></p>
<div id="waiting" aria-label="waiting for a person"></div>
<form id="search">
<select id="list">
<option value="payments?flag=needsReview">Payments parked for review</option>
<option value="payments?flag=refundOwed">Payments owing money back</option>
<option value="refunds?status=abnormal">Abnormal refunds</option>
<option value="differences">Open reconciliation differences</option>
<option value="dead-letters">Dead letters</option>
<option value="payments">All payments</option>
<option value="orders">All orders</option>
</select>
<input id="customer" placeholder="customer id (orders)"> <button>Search</button></form>
<p id="error" role="alert"></p>
<table id="results"><thead></thead><tbody></tbody></table>
<section id="detail" hidden><h2 id="detail-title"></h2><div id="actions"></div>
<h3>Timeline</h3><table id="timeline"><tbody></tbody></table>
<h3>Refunds</h3><table id="refunds"><tbody></tbody></table>
<h3>Events</h3><table id="events"><tbody></tbody></table>
<h3>Audit</h3><table id="audit"><tbody></tbody></table></section>
<script>
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
// Integer fen to yuan text: no floating point touches an amount.
const yuan = (fen) => Number.isInteger(fen) ? (fen < 0 ? '-' : '') + '¥' + Math.floor(Math.abs(fen) / 100) + '.' + String(Math.abs(fen) % 100).padStart(2, '0') : '';
const tokenFromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (tokenFromHash) $('token').value = tokenFromHash;
async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { authorization: 'Bearer ' + $('token').value.trim(), 'content-type': 'application/json', ...(init.headers || {}) } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && (body.error.code + ': ' + body.error.message)) || body.message || response.status);
  return body;
}
const rows = (id, list, cells) => { $(id).querySelector('tbody').innerHTML = list.map((item) => '<tr>' + cells(item).map((c) => '<td>' + c + '</td>').join('') + '</tr>').join('') || '<tr><td>none</td></tr>'; };
async function refreshWaiting() {
  const counts = await (await fetch('/_local/waiting.json')).json();
  $('waiting').innerHTML = Object.entries(counts).map(([state, n]) => '<span data-state="' + state + '" class="' + (n > 0 ? 'alarm' : '') + '">' + esc(state) + ': <b>' + n + '</b></span>').join('');
}
const COLUMNS = {
  payments: [['paymentId', (p) => '<code>' + esc(p.paymentId) + '</code>'], ['customer', (p) => esc(p.customerId)], ['amount', (p) => yuan(p.amount)], ['reported', (p) => yuan(p.reportedAmount)], ['status', (p) => esc(p.status)], ['flags', (p) => esc(p.flags.join(' '))]],
  orders: [['orderId', (o) => '<code>' + esc(o.orderId) + '</code>'], ['customer', (o) => esc(o.customerId)], ['total', (o) => yuan(o.totalAmount)], ['status', (o) => esc(o.status)], ['payment', (o) => o.payment ? esc(o.payment.status) : '']],
  refunds: [['refundId', (r) => '<code>' + esc(r.refundId) + '</code>'], ['payment', (r) => esc(r.paymentId)], ['amount', (r) => yuan(r.amount)], ['status', (r) => esc(r.status)]],
  differences: [['day', (d) => esc(d.date)], ['provider', (d) => esc(d.provider)], ['kind', (d) => esc(d.kind)], ['ours', (d) => yuan(d.ours && d.ours.amount)], ['theirs', (d) => yuan(d.theirs && d.theirs.amount)]],
  deadLetters: [['event', (d) => esc(d.provider + ' ' + d.eventId)], ['payment', (d) => esc(d.paymentId)], ['failures', (d) => d.failures], ['why', (d) => esc(d.errorMessage)]],
};
let shown = [];
async function search(event) {
  event && event.preventDefault();
  $('error').textContent = '';
  try {
    let path = '/api/admin/' + $('list').value;
    if ($('list').value === 'orders' && $('customer').value) path += '?customerId=' + encodeURIComponent($('customer').value);
    const body = await api(path);
    const noun = Object.keys(COLUMNS).find((key) => Array.isArray(body[key]));
    shown = body[noun].map((item) => ({ noun, item }));
    $('results').querySelector('thead').innerHTML = '<tr>' + COLUMNS[noun].map(([h]) => '<th>' + h + '</th>').join('') + '<th></th></tr>';
    $('results').querySelector('tbody').innerHTML = shown.map(({ item }, i) => '<tr class="row" data-index="' + i + '">' + COLUMNS[noun].map(([, cell]) => '<td>' + cell(item) + '</td>').join('') + '<td>' + actionButtons(noun, item) + '</td></tr>').join('') || '<tr><td>nothing waits here</td></tr>';
    await refreshWaiting();
  } catch (error) { $('error').textContent = error.message; }
}
function actionButtons(noun, item) {
  const b = (action, label) => '<button type="button" data-action="' + action + '">' + label + '</button>';
  if (noun === 'payments' && item.flags.includes('needsReview')) return b('accept', 'Accept provider amount') + b('refund', 'Refund in full');
  if (noun === 'payments' && item.flags.includes('refundOwed')) return b('refund-owed', 'Refund what is owed');
  if (noun === 'refunds' && item.status === 'abnormal')
    return (item.method === 'wechat' ? b('retry-card', 'Send again to a card') + b('retry-merchant', 'Send again via shop account') : '') + b('settled-offline', 'Settled offline');
  if (noun === 'differences') return b('resolve', 'Resolve') + b('re-run', 'Re-run the day');
  if (noun === 'deadLetters') return b('replay', 'Replay all');
  return '';
}
/** WeChat's re-submission target: the customer's debit card (asked for here, sent encrypted, never stored) or the shop's account. */
function destinationFor(action) {
  if (action === 'retry-merchant') return { type: 'MERCHANT_BANK_CARD' };
  return { type: 'USER_BANK_CARD', bankType: prompt("Bank code of the customer's debit card (e.g. ICBC_DEBIT):") || '', bankAccount: prompt('Card number (digits):') || '', realName: prompt("Card holder's name:") || '' };
}
async function act(action, { item }) {
  const reason = prompt('Reason for "' + action + '" (kept in the audit trail):');
  if (!reason) return;
  const key = 'console-' + action + '-' + Date.now();
  const post = (path, body) => api(path, { method: 'POST', body: JSON.stringify({ ...body, reason }), headers: { 'idempotency-key': key } });
  try {
    if (action === 'accept' || action === 'refund') await post('/api/admin/payments/' + item.paymentId + '/review', { decision: action });
    if (action === 'refund-owed') await post('/api/admin/payments/' + item.paymentId + '/refund-owed', {});
    if (action === 'settled-offline') await post('/api/admin/refunds/' + item.refundId + '/settle', { action });
    if (action === 'retry-card' || action === 'retry-merchant') await post('/api/admin/refunds/' + item.refundId + '/retry', { destination: destinationFor(action) });
    if (action === 'resolve') await post('/api/admin/differences/' + item.differenceId + '/resolve', {});
    if (action === 're-run') await post('/api/admin/reconciliation/' + item.provider + '/' + item.date + '/re-run', {});
    if (action === 'replay') await post('/api/admin/dead-letters/replay', {});
    await search();
    // A re-run is about a whole provider day, not the one payment its row names.
    if (item.paymentId && action !== 'replay' && action !== 're-run') await open({ noun: 'payments', item });
  } catch (error) { $('error').textContent = error.message; }
}
async function open({ noun, item }) {
  const paymentId = item.paymentId || (item.payment && item.payment.paymentId);
  if (!paymentId) return;
  const payment = await api('/api/payments/' + paymentId);
  const [refunds, audit, events] = await Promise.all([
    api('/api/payments/' + paymentId + '/refunds'),
    api('/api/admin/audit?entity=payment:' + paymentId),
    fetch('/_local/events').then((r) => r.json()),
  ]);
  $('detail').hidden = false;
  $('detail-title').textContent = 'Payment ' + paymentId + ': ' + payment.status + ', ' + yuan(payment.amount);
  rows('timeline', payment.logs, (l) => [esc(l.at), esc((l.from || '∅') + ' → ' + l.to), esc(l.source), esc(l.reason)]);
  rows('refunds', refunds.refunds, (r) => [esc(r.refundId), yuan(r.amount), esc(r.status)]);
  rows('events', events.events.filter((e) => e.detail && e.detail.paymentId === paymentId), (e) => [esc(e.occurredAt), esc(e.type)]);
  rows('audit', audit.entries, (a) => [esc(a.at), esc(a.actor), esc(a.action), esc(a.reason)]);
}
$('search').addEventListener('submit', search);
$('results').addEventListener('click', (event) => {
  const row = event.target.closest('tr.row');
  if (!row) return;
  const entry = shown[Number(row.dataset.index)];
  const action = event.target.dataset && event.target.dataset.action;
  if (action) act(action, entry); else open(entry).catch((error) => { $('error').textContent = error.message; });
});
refreshWaiting();
</script></body></html>`;
