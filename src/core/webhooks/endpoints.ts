import {
  type EndpointPatch,
  MAX_WEBHOOK_ENDPOINTS,
  newEndpoint,
  patchedEndpoint,
  type WebhookEndpoint,
  type WebhookEventSelector,
  withRotatedSecret,
} from '../../domain/webhook-endpoint';
import { WebhookEndpointNotFoundError } from '../../domain/webhook-errors';
import type { Uses } from '../kernel/deps';
import { newId } from '../kernel/ids';
import type { Commit } from '../kernel/ports';
import { decideAgainOnStale } from '../kernel/stale';
import type { WebhookStore } from './ports';
import { generateWebhookSecret, sealSecret } from './secrets';
import { endpointView } from './views';

/** The admin routes' use cases on endpoints (docs/API.md#webhooks). */

export interface CreateEndpointInput {
  url: string;
  events?: readonly WebhookEventSelector[];
  description?: string;
}

/** A new endpoint and its secret, which is shown this once: only its sealed form is stored. */
export async function createWebhookEndpoint(
  deps: Uses<Commit, 'clock' | 'webhookKeys' | 'webhookSender'>,
  input: CreateEndpointInput,
) {
  const url = await deps.webhookSender.checkDestination(input.url);
  const now = deps.clock.now();
  const endpointId = newId('whe', now);
  const secret = generateWebhookSecret();
  const sealedSecret = await sealSecret(deps.webhookKeys, endpointId, secret);
  const endpoint = newEndpoint({ ...input, endpointId, url, sealedSecret }, now);
  await deps.repo.commit([
    { kind: 'createWebhookEndpoint', endpoint },
    { kind: 'countWebhookEndpoints', delta: 1, limit: MAX_WEBHOOK_ENDPOINTS },
  ]);
  return { endpoint: endpointView(endpoint, now), secret };
}

export async function listWebhookEndpoints(deps: Uses<WebhookStore, 'clock'>) {
  const now = deps.clock.now();
  return { endpoints: (await deps.repo.listWebhookEndpoints()).map((endpoint) => endpointView(endpoint, now)) };
}

export async function findEndpoint(deps: Uses<WebhookStore>, endpointId: string): Promise<WebhookEndpoint> {
  const endpoint = await deps.repo.getWebhookEndpoint(endpointId);
  if (!endpoint) throw new WebhookEndpointNotFoundError(endpointId);
  return endpoint;
}

/** Reads the endpoint, changes it and writes it back on its version; a race with the deliverer's bookkeeping is decided again. */
async function changeEndpoint(
  deps: Uses<WebhookStore & Commit, 'clock'>,
  endpointId: string,
  change: (endpoint: WebhookEndpoint, now: Date) => Promise<WebhookEndpoint> | WebhookEndpoint,
): Promise<WebhookEndpoint> {
  return decideAgainOnStale(async () => {
    const endpoint = await findEndpoint(deps, endpointId);
    const changed = await change(endpoint, deps.clock.now());
    await deps.repo.commit([{ kind: 'updateWebhookEndpoint', endpoint: changed, expectedVersion: endpoint.version }]);
    return changed;
  });
}

/** PATCH: a new URL is checked as at creation; enabling clears why it was disabled. */
export async function updateWebhookEndpoint(
  deps: Uses<WebhookStore & Commit, 'clock' | 'webhookSender'>,
  endpointId: string,
  patch: EndpointPatch,
) {
  const url = patch.url === undefined ? undefined : await deps.webhookSender.checkDestination(patch.url);
  const endpoint = await changeEndpoint(deps, endpointId, (current, now) =>
    patchedEndpoint(current, { ...patch, ...(url === undefined ? {} : { url }) }, now),
  );
  return { endpoint: endpointView(endpoint, deps.clock.now()) };
}

/** A new secret, shown once; the old one signs beside it for SECRET_OVERLAP_HOURS. */
export async function rotateWebhookSecret(
  deps: Uses<WebhookStore & Commit, 'clock' | 'webhookKeys'>,
  endpointId: string,
) {
  const secret = generateWebhookSecret();
  const sealedSecret = await sealSecret(deps.webhookKeys, endpointId, secret);
  const endpoint = await changeEndpoint(deps, endpointId, (current, now) =>
    withRotatedSecret(current, sealedSecret, now),
  );
  return { endpoint: endpointView(endpoint, deps.clock.now()), secret };
}

/** Gone with its secrets; its delivery log stays until it expires, and retries still queued find no endpoint and stop. */
export async function deleteWebhookEndpoint(deps: Uses<WebhookStore & Commit>, endpointId: string) {
  await decideAgainOnStale(async () => {
    const endpoint = await findEndpoint(deps, endpointId);
    await deps.repo.commit([
      { kind: 'deleteWebhookEndpoint', endpointId, expectedVersion: endpoint.version },
      { kind: 'countWebhookEndpoints', delta: -1 },
    ]);
  });
  return { endpointId, deleted: true as const };
}
