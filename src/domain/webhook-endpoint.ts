import { DOMAIN_EVENT_TYPES, type DomainEventType } from './events';

/** Subscribes to every event type, those added later included (the default). */
export const ALL_WEBHOOK_EVENTS = '*';
export type WebhookEventSelector = DomainEventType | typeof ALL_WEBHOOK_EVENTS;
export const WEBHOOK_EVENT_SELECTORS = [ALL_WEBHOOK_EVENTS, ...DOMAIN_EVENT_TYPES] as const;

/** Stripe's limit: every event fans out to each endpoint, so their number bounds the work per event. */
export const MAX_WEBHOOK_ENDPOINTS = 16;
/** After a rotation the old secret keeps signing beside the new one this long (two signatures in the header). */
export const SECRET_OVERLAP_HOURS = 24;
/** A URL longer than this is refused at registration (src/domain/webhook-address.ts). */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** A signing secret as stored: sealed under the webhook key, never in clear. */
export interface StoredWebhookSecret {
  sealed: string;
  createdAt: string;
  /** Set on a rotated-out secret: it signs beside the new one until then. */
  expiresAt?: string;
}

export interface WebhookEndpoint {
  endpointId: string;
  url: string;
  events: WebhookEventSelector[];
  description?: string;
  enabled: boolean;
  /** Why it is disabled, for the shop to read: by a person, a 410 Gone, or failing for the whole retry window. */
  disabledReason?: string;
  disabledAt?: string;
  /** When the current run of failed attempts began; a success clears it. */
  failingSince?: string;
  lastError?: string;
  /** Newest first; the first is the one a rotation replaces. */
  secrets: StoredWebhookSecret[];
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface NewEndpoint {
  endpointId: string;
  url: string;
  events?: readonly WebhookEventSelector[];
  description?: string;
  sealedSecret: string;
}

export function newEndpoint(input: NewEndpoint, now: Date): WebhookEndpoint {
  const at = now.toISOString();
  return {
    endpointId: input.endpointId,
    url: input.url,
    events: selectors(input.events),
    ...(input.description === undefined ? {} : { description: input.description }),
    enabled: true,
    secrets: [{ sealed: input.sealedSecret, createdAt: at }],
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}

/** The selectors as kept: duplicates dropped, and `*` alone when it is among them. */
function selectors(events: readonly WebhookEventSelector[] | undefined): WebhookEventSelector[] {
  if (!events || events.length === 0 || events.includes(ALL_WEBHOOK_EVENTS)) return [ALL_WEBHOOK_EVENTS];
  return [...new Set(events)];
}

export function subscribes(endpoint: Pick<WebhookEndpoint, 'events'>, type: string): boolean {
  return endpoint.events.some((selector) => selector === ALL_WEBHOOK_EVENTS || selector === type);
}

/** The secrets that sign an attempt made at `now`: the current one and any rotated out less than a day ago. */
export function signingSecrets(endpoint: Pick<WebhookEndpoint, 'secrets'>, now: Date): StoredWebhookSecret[] {
  return endpoint.secrets.filter((secret) => !secret.expiresAt || Date.parse(secret.expiresAt) > now.getTime());
}

/** A new current secret; the old current one signs beside it for SECRET_OVERLAP_HOURS, expired ones are dropped. */
export function withRotatedSecret(endpoint: WebhookEndpoint, sealedSecret: string, now: Date): WebhookEndpoint {
  const overlapEnds = new Date(now.getTime() + SECRET_OVERLAP_HOURS * 3_600_000).toISOString();
  const previous = signingSecrets(endpoint, now).map((secret) => ({
    ...secret,
    expiresAt: secret.expiresAt ?? overlapEnds,
  }));
  return touched(endpoint, { secrets: [{ sealed: sealedSecret, createdAt: now.toISOString() }, ...previous] }, now);
}

export interface EndpointPatch {
  url?: string;
  events?: readonly WebhookEventSelector[];
  description?: string;
  enabled?: boolean;
}

/** A person's change. Enabling starts afresh (the failing run and the reason are cleared); disabling says it was them. */
export function patchedEndpoint(endpoint: WebhookEndpoint, patch: EndpointPatch, now: Date): WebhookEndpoint {
  const { disabledReason: _reason, disabledAt: _at, failingSince: _since, lastError: _error, ...rest } = endpoint;
  const enabling = patch.enabled === true && !endpoint.enabled;
  const disabling = patch.enabled === false && endpoint.enabled;
  const base: WebhookEndpoint = enabling ? { ...rest, enabled: true } : endpoint;
  return touched(
    base,
    {
      ...(patch.url === undefined ? {} : { url: patch.url }),
      ...(patch.events === undefined ? {} : { events: selectors(patch.events) }),
      ...(patch.description === undefined ? {} : { description: patch.description }),
      ...(disabling
        ? { enabled: false, disabledReason: 'disabled by an administrator', disabledAt: now.toISOString() }
        : {}),
    },
    now,
  );
}

function touched(endpoint: WebhookEndpoint, change: Partial<WebhookEndpoint>, now: Date): WebhookEndpoint {
  return { ...endpoint, ...change, updatedAt: now.toISOString(), version: endpoint.version + 1 };
}

/** Why a 410 disabled an endpoint. */
export function goneReason(url: string, at: Date): string {
  return `${url} answered 410 Gone at ${at.toISOString()}: the receiver asked to stop`;
}

/** Why an endpoint failing for the whole retry window was disabled. */
export function failingReason(failingSince: string, windowHours: number, lastError: string): string {
  return `every attempt since ${failingSince} failed (${windowHours} h without a success); last: ${lastError}`;
}
