import { fenToYuan } from '../../src/domain/money';
import type { ProviderName } from '../../src/core/payments/provider';
import type { CallbackDelivery, CustomerDecision, SandboxCheckout, SandboxRefund } from './types';

/**
 * The sandbox's pages: plain HTML with inline CSS, no script and no external asset, so they work
 * with JavaScript disabled (every action is a <form method="post">). Every interpolated value goes
 * through escapeHtml: descriptions and ids come from the merchant's requests.
 */

const PROVIDER_LABELS: Readonly<Record<ProviderName, string>> = {
  wechat: 'WeChat Pay',
  alipay: 'Alipay',
  bank: 'Bank',
};

const STATE_LABELS: Readonly<Record<SandboxCheckout['state'], string>> = {
  pending: 'Awaiting payment',
  paid: 'Paid',
  failed: 'Failed',
  closed: 'Closed (not paid)',
};

const BUTTON_LABELS: Readonly<Record<CustomerDecision, string>> = { pay: 'Pay', fail: 'Fail', cancel: 'Cancel' };

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
.banner{background:#ffcc00;padding:.6em 1em;text-align:center;font-weight:600}
main{max-width:32em;margin:2em auto;background:#fff;padding:1.5em 2em;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.4em;margin-top:0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.4em 1em}
dt{color:#5a6272}dd{margin:0;word-break:break-all}
.amount{font-size:1.6em;font-weight:700}
.actions{display:flex;gap:.8em;margin-top:1.5em}
.actions form{margin:0}
button{font-size:1em;padding:.6em 1.4em;border:0;border-radius:6px;cursor:pointer;color:#fff}
#pay{background:#1a7f37}#fail{background:#b42318}#cancel{background:#5a6272}
button:disabled{background:#c5c9d0;cursor:not-allowed}
.note{color:#5a6272}
`;

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Safe inside element text and inside double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ENTITIES[char] ?? char);
}

function yuan(checkout: SandboxCheckout): string {
  return `¥${fenToYuan(checkout.amount)}`;
}

/** 2026-11-25T04:30:00.000Z → "2026-11-25 04:30:00 UTC". */
function formatInstant(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function layout(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<div class="banner" role="note">Sandbox — no real money moves</div>
<main>
${content}
</main>
</body>
</html>
`;
}

function details(checkout: SandboxCheckout, stateLabel: string): string {
  const rows: [string, string][] = [
    ['Provider', PROVIDER_LABELS[checkout.provider]],
    ['Payment', checkout.paymentId],
    ['Description', checkout.description],
    ['Expires', formatInstant(checkout.expiresAt)],
    ['State', stateLabel],
    ...(checkout.transactionId ? [['Transaction', checkout.transactionId] as [string, string]] : []),
  ];
  return `<p class="amount" id="amount">${escapeHtml(yuan(checkout))}</p>
<dl>${rows.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>`;
}

/**
 * The page the pay URL leads to: the checkout and, while it is pending, the three decisions
 * (Pay disabled once `expired`); once paid, the refunds the provider made of it.
 */
export function checkoutPage(
  checkout: SandboxCheckout,
  expired: boolean,
  actionUrl: (decision: CustomerDecision) => string,
  refunds: readonly SandboxRefund[] = [],
  /** A QR scene's code as SVG (qrcode), for a phone to scan: the checkout a customer sees on a screen. */
  qrSvg?: string,
): string {
  const stateLabel = expired ? 'Expired (can no longer be paid)' : STATE_LABELS[checkout.state];
  const button = (decision: CustomerDecision) => {
    const label = decision === 'pay' ? `Pay ${yuan(checkout)}` : BUTTON_LABELS[decision];
    const disabled = decision === 'pay' && expired ? ' disabled' : '';
    return `<form method="post" action="${escapeHtml(actionUrl(decision))}"><button type="submit" id="${decision}"${disabled}>${escapeHtml(label)}</button></form>`;
  };
  const actions =
    checkout.state === 'pending'
      ? `<div class="actions">${(['pay', 'fail', 'cancel'] as const).map(button).join('')}</div>`
      : '<p class="note">This checkout is decided.</p>';
  return layout(
    `${PROVIDER_LABELS[checkout.provider]} checkout ${checkout.paymentId}`,
    `<h1>${escapeHtml(PROVIDER_LABELS[checkout.provider])} checkout</h1>\n${details(checkout, stateLabel)}\n${qr(qrSvg)}${actions}${refundList(refunds)}`,
  );
}

function qr(svg: string | undefined): string {
  return svg
    ? `<figure id="qr" style="width:200px;margin:0 0 1rem">${svg}<figcaption>Scan with a phone that reaches this sandbox, or decide below.</figcaption></figure>\n`
    : '';
}

/** The provider's refunds of a checkout, oldest first, with what has been refunded in all. */
function refundList(refunds: readonly SandboxRefund[]): string {
  if (refunds.length === 0) return '';
  const refunded = refunds
    .filter((refund) => refund.state === 'succeeded')
    .reduce((sum, refund) => sum + refund.amount, 0);
  const rows = refunds.map(
    (refund) =>
      `<li id="refund-${escapeHtml(refund.key)}">¥${fenToYuan(refund.amount)} ${escapeHtml(refund.state)}${refund.external ? ' (console)' : ''} · ${escapeHtml(refund.refundId ?? refund.key)}</li>`,
  );
  return `\n<h2>Refunds</h2>\n<p id="refunded">Refunded ¥${fenToYuan(refunded)}</p>\n<ul>${rows.join('')}</ul>`;
}

function outcomeHeadline(checkout: SandboxCheckout): string {
  switch (checkout.state) {
    case 'paid':
      return `Paid ${yuan(checkout)}`;
    case 'failed':
      return `Payment failed: ${yuan(checkout)} not charged`;
    case 'closed':
      return `Payment cancelled: ${yuan(checkout)} not charged`;
    case 'pending':
      return `Awaiting payment of ${yuan(checkout)}`;
  }
}

function deliveryNote(provider: ProviderName, delivery: CallbackDelivery | undefined, retrying: boolean): string {
  if (!delivery) return `${PROVIDER_LABELS[provider]} sends no notification for this outcome.`;
  if (delivery.acknowledged) return `The merchant was notified and acknowledged (HTTP ${delivery.statusCode}).`;
  const answer =
    delivery.statusCode === undefined ? `delivery failed: ${delivery.error}` : `HTTP ${delivery.statusCode}`;
  return `The merchant did not acknowledge the notification (${answer}). ${retrying ? 'The sandbox retries in the background.' : 'No retry is scheduled.'}`;
}

/** After a decision: what happened, whether the merchant heard of it, and the way back. */
export function decisionPage(
  checkout: SandboxCheckout,
  delivery: CallbackDelivery | undefined,
  retrying: boolean,
): string {
  const back = checkout.returnUrl
    ? `<p><a id="return" href="${escapeHtml(checkout.returnUrl)}">Return to the merchant</a></p>`
    : '';
  const headline = outcomeHeadline(checkout);
  return layout(
    headline,
    `<h1 id="outcome">${escapeHtml(headline)}</h1>\n${details(checkout, STATE_LABELS[checkout.state])}\n<p class="note" id="delivery">${escapeHtml(
      deliveryNote(checkout.provider, delivery, retrying),
    )}</p>\n${back}`,
  );
}

/** Not found, already decided, expired: a title and one sentence. */
export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p id="message">${escapeHtml(message)}</p>`);
}
