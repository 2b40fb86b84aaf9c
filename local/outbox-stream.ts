import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { OUTBOX_STREAM_FILTER } from '../src/persistence/table-definition';
import type { Wiring } from '../src/runtime/wiring';
import { BACKGROUND_FUNCTIONS } from '../src/runtime/functions';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-emulator';
import { startStreamEventSource, type StreamHandler } from './dynamodb-stream-source';

/**
 * An event source filter pattern applied as Lambda applies it: each listed value must be one of
 * the pattern's, or exist (`{exists: true}`) or not (`{exists: false}`).
 */
export function matchesFilter(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) return (pattern as unknown[]).some((allowed) => matchesValue(allowed, value));
  if (typeof pattern !== 'object' || pattern === null || typeof value !== 'object' || value === null) return false;
  return Object.entries(pattern).every(([key, inner]) => matchesFilter(inner, (value as Record<string, unknown>)[key]));
}

function matchesValue(allowed: unknown, value: unknown): boolean {
  if (typeof allowed === 'object' && allowed !== null && 'exists' in allowed)
    return (value !== undefined) === (allowed as { exists: boolean }).exists;
  return allowed === value;
}

/**
 * The outbox publisher function on the local table's stream, as the CDK stack wires it in AWS:
 * the same handler module (made with `wiring`, or a handler as given: a bundle) and filter.
 * `pollMs` reads in the background (the local runtime); without it the events leave when `idle()`
 * is awaited (tests).
 */
export async function startOutboxPublisher(options: {
  dynamo: DynamoDBClient;
  endpoint: string;
  tableName: string;
  publisher: { wiring: Wiring } | { handler: StreamHandler };
  checkpointFile?: string;
  pollMs?: number;
  retryPauseMs?: number;
  onError?: (error: unknown) => void;
}) {
  const { Table } = await options.dynamo.send(new DescribeTableCommand({ TableName: options.tableName }));
  if (!Table?.LatestStreamArn) throw new Error(`Table ${options.tableName} has no stream`);
  const { fn } = BACKGROUND_FUNCTIONS.publisher;
  const handler =
    'handler' in options.publisher
      ? options.publisher.handler
      : ((await import(`../functions/${fn}/handler.ts`)) as { makeHandler(wiring: Wiring): StreamHandler }).makeHandler(
          options.publisher.wiring,
        );
  return startStreamEventSource({
    client: new DynamoDBStreamsClient({
      endpoint: options.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 3,
    }),
    streamArn: Table.LatestStreamArn,
    handler,
    filter: (record: DynamoDBRecord) => matchesFilter(OUTBOX_STREAM_FILTER, record),
    functionName: fn,
    checkpointFile: options.checkpointFile,
    pollMs: options.pollMs,
    retryPauseMs: options.retryPauseMs,
    onError: options.onError,
  });
}
