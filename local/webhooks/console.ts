import type { Deps } from '../../src/core/kernel/deps';
import { listWebhookEndpoints } from '../../src/core/webhooks/endpoints';
import { listWebhookDeliveries, replayWebhookDelivery } from '../../src/core/webhooks/log';
import { DomainError } from '../../src/domain/errors';
import { statusOf, toErrorResponse } from '../../src/http/errors';
import { type GatewayRequest, type GatewayRoute, jsonAnswer } from '../gateway';

/**
 * The local console's webhook page (`/_local/webhooks`): every endpoint, its latest deliveries
 * with every attempt, and a replay button per delivery. It reads and replays through the same use
 * cases as the admin routes (src/core/webhooks/), without a token, as the other /_local tools do.
 */
export function webhookConsoleRoutes(deps: Deps): GatewayRoute[] {
  return [
    {
      path: '/_local/webhooks',
      answer: async () => ({
        statusCode: 200,
        body: WEBHOOKS_HTML,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      }),
    },
    { path: '/_local/webhooks.json', answer: () => webhooksJson(deps) },
    { path: '/_local/webhooks/replay', method: 'POST', answer: (request) => replay(deps, request) },
  ];
}

/** Each endpoint with its 20 newest deliveries. */
async function webhooksJson(deps: Deps) {
  const { endpoints } = await listWebhookEndpoints(deps);
  const withDeliveries = await Promise.all(
    endpoints.map(async (endpoint) => ({
      ...endpoint,
      deliveries: (await listWebhookDeliveries(deps, endpoint.endpointId, {})).deliveries,
    })),
  );
  return jsonAnswer(200, { endpoints: withDeliveries });
}

async function replay(deps: Deps, request: GatewayRequest) {
  const { endpointId, deliveryId } = JSON.parse(request.body.toString('utf8') || '{}') as Record<string, unknown>;
  if (typeof endpointId !== 'string' || typeof deliveryId !== 'string')
    return jsonAnswer(400, { error: { code: 'VALIDATION_FAILED', message: 'endpointId and deliveryId are required' } });
  try {
    return jsonAnswer(202, await replayWebhookDelivery(deps, endpointId, deliveryId));
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const { body } = toErrorResponse(error);
    return jsonAnswer(statusOf(error), body);
  }
}

const STYLE = `
:root{--ink:#1d2433;--muted:#6b7280;--line:#e5e7eb;--bg:#f6f7fb;--ok:#15803d;--bad:#b91c1c;--warn:#b45309}
body{font:14px system-ui,sans-serif;margin:24px;color:var(--ink);background:var(--bg)}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:0 0 4px}
.panel{background:#fff;border-radius:10px;padding:14px;box-shadow:0 1px 3px #0002;margin:12px 0}
.muted{color:var(--muted)}.bad{color:var(--bad);font-weight:600}
table{border-collapse:collapse;width:100%}td,th{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
.status{border-radius:6px;padding:1px 8px;font-size:12px;color:#fff;background:var(--muted)}
.status-delivered{background:var(--ok)}.status-failed{background:var(--bad)}.status-pending{background:var(--warn)}
.attempts td{font-size:12px;background:#fafafa}code{font-size:12px}.empty{padding:12px;border:1px dashed var(--line);border-radius:8px}
button{cursor:pointer}`;

const SCRIPT = `
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child ?? '');
  return node;
};
const time = (iso) => iso ? iso.replace('T', ' ').slice(0, 19) : '';
function attemptRows(delivery) {
  return delivery.attempts.map((attempt) => el('tr', { class: 'attempts' },
    el('td'), el('td', {}, time(attempt.at)), el('td', {}, attempt.trigger),
    el('td', {}, attempt.statusCode === undefined ? '—' : String(attempt.statusCode)),
    el('td', {}, attempt.latencyMs + ' ms'),
    el('td', { colspan: '2' }, attempt.error ?? '', attempt.responseBody ? el('code', {}, ' ' + attempt.responseBody.slice(0, 200)) : '')));
}
function deliveryRows(endpoint, delivery) {
  const replay = el('button', { 'data-replay': delivery.deliveryId }, 'Replay');
  replay.disabled = !endpoint.enabled;
  replay.addEventListener('click', async () => {
    replay.disabled = true;
    const response = await fetch('/_local/webhooks/replay', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpointId: endpoint.endpointId, deliveryId: delivery.deliveryId }) });
    replay.textContent = response.status === 202 ? 'Queued' : 'Refused (' + response.status + ')';
    setTimeout(load, 800);
  });
  const row = el('tr', { 'data-delivery': delivery.deliveryId },
    el('td', {}, time(delivery.occurredAt)), el('td', {}, delivery.eventType), el('td', {}, delivery.orderId ?? ''),
    el('td', {}, el('span', { class: 'status status-' + delivery.status }, delivery.status)),
    el('td', {}, String(delivery.attemptCount) + ' attempt(s)'),
    el('td', {}, delivery.nextAttemptAt ? 'next ' + time(delivery.nextAttemptAt) : (delivery.finalReason ?? '')),
    el('td', {}, replay));
  return [row, ...attemptRows(delivery)];
}
function endpointPanel(endpoint) {
  const state = endpoint.enabled ? (endpoint.failingSince ? el('span', { class: 'bad' }, 'failing since ' + time(endpoint.failingSince) + ': ' + endpoint.lastError) : 'enabled')
    : el('span', { class: 'bad' }, 'disabled: ' + endpoint.disabledReason);
  const table = el('table', {}, el('tr', {}, ...['Event time', 'Type', 'Order', 'Status', 'Attempts', 'Next / why not', ''].map((h) => el('th', {}, h))));
  for (const delivery of endpoint.deliveries) table.append(...deliveryRows(endpoint, delivery));
  return el('section', { class: 'panel', 'data-endpoint': endpoint.endpointId },
    el('h2', {}, endpoint.url), el('div', { class: 'muted' }, endpoint.endpointId + ' · ' + endpoint.events.join(', ') + ' · ', state),
    endpoint.deliveries.length ? table : el('div', { class: 'empty' }, 'No deliveries yet.'));
}
async function load() {
  const { endpoints } = await (await fetch('/_local/webhooks.json')).json();
  const root = document.getElementById('endpoints');
  root.replaceChildren(...(endpoints.length ? endpoints.map(endpointPanel)
    : [el('div', { class: 'empty' }, 'No webhook endpoints: npm run webhooks:listen, or LOCAL_WEBHOOK_URL at npm start.')]));
  document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
}
load();
setInterval(load, 3000);`;

export const WEBHOOKS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Webhooks — local console</title><style>${STYLE}</style></head>
<body><h1>Webhooks — local console <span class="muted" id="updated"></span></h1>
<p class="muted">Endpoints, their latest deliveries and every attempt. Replay sends a delivery again now, with the same webhook-id.</p>
<div id="endpoints"></div><script>${SCRIPT}</script></body></html>`;
