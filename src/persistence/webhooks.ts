import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, type QueryCommandInput, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Page } from '../core/kernel/page';
import type { DeliveryQuery, WebhookWrite } from '../core/webhooks/ports';
import { AlreadyExistsError, StaleStateError, ValidationError } from '../domain/errors';
import { DELIVERY_LOG_DAYS, type WebhookDelivery } from '../domain/webhook-delivery';
import type { WebhookEndpoint } from '../domain/webhook-endpoint';
import { WebhookEndpointLimitError, WebhookEndpointNotFoundError } from '../domain/webhook-errors';
import { epochSeconds, key, stripStorage } from './keys';
import { putIfAbsent, returnOld, type WriteBuilders } from './prepared-write';
import type { DynamoTable } from './table';
import { TABLE } from './table-definition';

/**
 * Webhook endpoints and their delivery log (docs/ARCHITECTURE.md#webhooks). Endpoints share one
 * partition (at most MAX_WEBHOOK_ENDPOINTS, read whole by every batch of the deliverer); each
 * endpoint's deliveries share its own, sorted by when their event happened.
 */

const endpointItem = (endpoint: WebhookEndpoint) => ({
  ...key.webhookEndpoint(endpoint.endpointId),
  kind: 'webhookEndpoint',
  ...endpoint,
});

/** A delivery kept DELIVERY_LOG_DAYS after its last change; in its lane while its first attempt is pending. */
function deliveryItem(delivery: WebhookDelivery, lane?: { lane: string; position: string }) {
  return {
    ...key.webhookDelivery(delivery.endpointId, delivery.deliveryId),
    kind: 'webhookDelivery',
    ...delivery,
    ...(lane && delivery.attemptCount === 0 ? { whLane: lane.lane, whLanePosition: lane.position } : {}),
    expiresAtEpoch: epochSeconds(delivery.updatedAt) + DELIVERY_LOG_DAYS * 86_400,
  };
}

/** A whole-item put on the version read: StaleStateError when it moved, `missing` when it is gone. */
function versionedPut(TableName: string, Item: Record<string, unknown>, expectedVersion: number, missing: () => Error) {
  return {
    item: {
      Put: {
        TableName,
        Item,
        ConditionExpression: 'version = :version',
        ExpressionAttributeValues: { ':version': expectedVersion },
        ...returnOld,
      },
    },
    onConditionFailed: (current: Record<string, unknown> | undefined) =>
      current
        ? new StaleStateError(String(Item.kind), String(Item.sk), { version: current.version as number })
        : missing(),
  };
}

export const webhookWrites: WriteBuilders<WebhookWrite['kind']> = {
  createWebhookEndpoint: ({ endpoint }, TableName) =>
    putIfAbsent(
      TableName,
      endpointItem(endpoint),
      () => new AlreadyExistsError('webhook endpoint', endpoint.endpointId),
    ),
  updateWebhookEndpoint: ({ endpoint, expectedVersion }, TableName) =>
    versionedPut(
      TableName,
      endpointItem(endpoint),
      expectedVersion,
      () => new WebhookEndpointNotFoundError(endpoint.endpointId),
    ),
  deleteWebhookEndpoint: ({ endpointId, expectedVersion }, TableName) => ({
    item: {
      Delete: {
        TableName,
        Key: key.webhookEndpoint(endpointId),
        ConditionExpression: 'version = :version',
        ExpressionAttributeValues: { ':version': expectedVersion },
        ...returnOld,
      },
    },
    onConditionFailed: (current) =>
      current ? new StaleStateError('webhook endpoint', endpointId) : new WebhookEndpointNotFoundError(endpointId),
  }),
  countWebhookEndpoints: ({ delta, limit }, TableName) => ({
    item: {
      Update: {
        TableName,
        Key: key.webhookEndpointCount(),
        UpdateExpression: 'SET #kind = :kind ADD endpoints :delta',
        ...(limit === undefined
          ? {}
          : { ConditionExpression: 'attribute_not_exists(endpoints) OR endpoints < :limit' }),
        ExpressionAttributeNames: { '#kind': 'kind' },
        ExpressionAttributeValues: {
          ':kind': 'webhookEndpointCount',
          ':delta': delta,
          ...(limit === undefined ? {} : { ':limit': limit }),
        },
      },
    },
    onConditionFailed: () => new WebhookEndpointLimitError(limit ?? 0),
  }),
  createWebhookDelivery: ({ delivery, lane }, TableName) =>
    putIfAbsent(
      TableName,
      deliveryItem(delivery, lane),
      () => new AlreadyExistsError('webhook delivery', delivery.deliveryId),
    ),
  updateWebhookDelivery: ({ delivery, expectedVersion }, TableName) =>
    versionedPut(
      TableName,
      deliveryItem(delivery),
      expectedVersion,
      () => new AlreadyExistsError('webhook delivery', `${delivery.deliveryId} (gone from the log)`),
    ),
};

export function getWebhookEndpoint(table: DynamoTable, endpointId: string) {
  return table.getItem<WebhookEndpoint>(key.webhookEndpoint(endpointId));
}

export async function listWebhookEndpoints(table: DynamoTable): Promise<WebhookEndpoint[]> {
  const result = await table.doc.send(
    new QueryCommand({
      TableName: table.name,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :endpoint)',
      ExpressionAttributeValues: { ':pk': key.webhookEndpoints, ':endpoint': 'ENDPOINT#' },
      ConsistentRead: true,
    }),
  );
  return (result.Items ?? []).map((item) => stripStorage<WebhookEndpoint>(item));
}

export function getWebhookDelivery(table: DynamoTable, endpointId: string, deliveryId: string) {
  return table.getItem<WebhookDelivery>(key.webhookDelivery(endpointId, deliveryId));
}

/** A listing page reads at most this many deliveries (a filter may match few of them): the next page goes on. */
const MAX_READ_PER_PAGE = 1000;

/** An endpoint's deliveries, filtered by status and event time, a page at a time. */
export async function listWebhookDeliveries(
  table: DynamoTable,
  endpointId: string,
  query: DeliveryQuery,
): Promise<Page<WebhookDelivery>> {
  const pk = key.webhookDeliveries(endpointId);
  const request: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'> = {
    TableName: table.name,
    ...deliveryConditions(pk, query),
    ScanIndexForward: query.oldestFirst ?? false,
    ConsistentRead: true,
  };
  const items: WebhookDelivery[] = [];
  let startKey = decodeCursor(query.cursor, pk);
  let read = 0;
  do {
    const page = await table.doc.send(
      new QueryCommand({ ...request, Limit: query.limit - items.length, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []).map((item) => stripStorage<WebhookDelivery>(item)));
    read += page.ScannedCount ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey && items.length < query.limit && read < MAX_READ_PER_PAGE);
  return { items, ...(startKey ? { cursor: Buffer.from(JSON.stringify(startKey)).toString('base64url') } : {}) };
}

function deliveryConditions(pk: string, query: DeliveryQuery) {
  const ranged = query.idRange !== undefined;
  return {
    KeyConditionExpression: ranged ? 'pk = :pk AND sk BETWEEN :first AND :last' : 'pk = :pk',
    ...(query.status
      ? { FilterExpression: '#status = :status', ExpressionAttributeNames: { '#status': 'status' } }
      : {}),
    ExpressionAttributeValues: {
      ':pk': pk,
      ...(ranged ? { ':first': query.idRange!.first, ':last': query.idRange!.last } : {}),
      ...(query.status ? { ':status': query.status } : {}),
    },
  };
}

/** A cursor this listing gave for this endpoint, or a 400. */
function decodeCursor(cursor: string | undefined, pk: string): Record<string, unknown> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const startKey = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (startKey.pk === pk && typeof startKey.sk === 'string' && Object.keys(startKey).length === 2) return startKey;
  } catch {
    // falls through to the refusal
  }
  throw new ValidationError('cursor is not one this listing gave', [{ path: 'cursor', message: 'unknown cursor' }]);
}

/** One key-only read of the lane index: is a delivery before `position` still waiting for its first attempt to end? */
export async function hasUnfinishedPredecessor(table: DynamoTable, lane: string, position: string): Promise<boolean> {
  const { webhookLaneIndex: index } = TABLE;
  const result = await table.doc.send(
    new QueryCommand({
      TableName: table.name,
      IndexName: index.name,
      KeyConditionExpression: `${index.partitionKey} = :lane AND ${index.sortKey} < :position`,
      ExpressionAttributeValues: { ':lane': lane, ':position': position },
      Limit: 1,
    }),
  );
  return (result.Items ?? []).length > 0;
}

/** One conditional update of an endpoint's health; false when its condition says it is already so. */
async function healthUpdate(table: DynamoTable, input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
  try {
    await table.doc.send(new UpdateCommand({ TableName: table.name, ...input }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Each health change bumps the version, so a person's PATCH made from an older read is decided again. */
const BUMP = 'version = version + :one, updatedAt = :at';

export const markWebhookEndpointFailing = (table: DynamoTable, endpointId: string, at: Date, error: string) =>
  healthUpdate(table, {
    Key: key.webhookEndpoint(endpointId),
    UpdateExpression: `SET failingSince = :at, lastError = :error, ${BUMP}`,
    ConditionExpression: 'attribute_exists(pk) AND enabled = :true AND attribute_not_exists(failingSince)',
    ExpressionAttributeValues: { ':at': at.toISOString(), ':error': error.slice(0, 300), ':one': 1, ':true': true },
  });

export const markWebhookEndpointHealthy = (table: DynamoTable, endpointId: string, at: Date) =>
  healthUpdate(table, {
    Key: key.webhookEndpoint(endpointId),
    UpdateExpression: `REMOVE failingSince, lastError SET ${BUMP}`,
    ConditionExpression: 'attribute_exists(failingSince)',
    ExpressionAttributeValues: { ':at': at.toISOString(), ':one': 1 },
  });

export const disableWebhookEndpoint = (
  table: DynamoTable,
  endpointId: string,
  at: Date,
  reason: string,
  failingBefore?: Date,
) =>
  healthUpdate(table, {
    Key: key.webhookEndpoint(endpointId),
    UpdateExpression: `SET enabled = :false, disabledReason = :reason, disabledAt = :at, ${BUMP}`,
    ConditionExpression: `enabled = :true${failingBefore ? ' AND failingSince <= :cutoff' : ''}`,
    ExpressionAttributeValues: {
      ':false': false,
      ':true': true,
      ':reason': reason,
      ':at': at.toISOString(),
      ':one': 1,
      ...(failingBefore ? { ':cutoff': failingBefore.toISOString() } : {}),
    },
  });
