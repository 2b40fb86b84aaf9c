import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | void>;

interface ShardState {
  /** The last record handled: reading resumes after it. */
  checkpoint?: string;
  /** Where the next GetRecords reads; undefined once the shard is closed and read to its end. */
  iterator?: string;
  done: boolean;
}

/**
 * What Lambda's DynamoDB stream event source mapping does, on one machine: read every shard of a
 * table's stream in order (a child shard after its parent), hand the records `filter` admits to
 * the handler in batches, and on a reported failure (ReportBatchItemFailures) read that shard
 * again from the failed record after a pause; a handler that throws has its whole batch retried.
 * With a checkpoint file, where each shard stopped survives a restart, as the mapping's does.
 */
export interface StreamEventSourceOptions {
  client: DynamoDBStreamsClient;
  streamArn: string;
  handler: StreamHandler;
  filter: (record: DynamoDBRecord) => boolean;
  functionName: string;
  checkpointFile?: string;
  /** Background polling every this many ms while nothing comes; without it the source reads only when `idle()` is awaited (tests). */
  pollMs?: number;
  retryPauseMs?: number;
  onError?: (error: unknown) => void;
}

export function startStreamEventSource(options: StreamEventSourceOptions): {
  stop(): Promise<void>;
  idle(): Promise<void>;
} {
  const reader = new StreamReader(options);
  // One reader at a time, as the mapping has one per shard: the background loop and idle() take turns.
  let turn: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const result = turn.then(work, work);
    turn = result.catch(() => undefined);
    return result;
  };
  let running = options.pollMs !== undefined;
  const loop = async () => {
    while (running) {
      let read = 0;
      try {
        read = await serially(() => reader.pollOnce());
      } catch (error) {
        if (!running) return;
        options.onError?.(error);
      }
      // Records keep coming: read again at once, as Lambda's poller does; otherwise wait.
      if (read === 0) await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    }
  };
  const background = running ? loop() : Promise.resolve();
  return {
    async stop() {
      running = false;
      await background;
      await turn;
    },
    /** Resolves once a read of every shard finds nothing new: everything written so far has been handled. */
    async idle() {
      reader.unpause();
      for (;;) if ((await serially(() => reader.pollOnce())) === 0) return;
    },
  };
}

/** Where each shard of the stream stands, and one read of them all at a time. */
class StreamReader {
  private readonly shards: Map<string, ShardState>;
  private readonly context: Context;
  private pausedUntil = 0;
  // The shard list changes rarely (a new shard every few hours): listed again once a second, or when a shard ends.
  private listed: Shard[] = [];
  private listedAt = -Infinity;

  constructor(private readonly options: StreamEventSourceOptions) {
    const saved = readCheckpoints(options.checkpointFile, options.streamArn);
    this.shards = new Map(Object.entries(saved).map(([id, checkpoint]) => [id, { checkpoint, done: false }]));
    this.context = { functionName: options.functionName, getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
  }

  unpause(): void {
    this.pausedUntil = 0;
  }

  /** One read of every readable shard; answers how many records were read. */
  async pollOnce(): Promise<number> {
    if (Date.now() < this.pausedUntil) return 0;
    let read = 0;
    for (const shard of await this.readableShards()) {
      const shardId = shard.ShardId!;
      const state = this.shards.get(shardId) ?? { done: false };
      this.shards.set(shardId, state);
      const outcome = await this.readShard(shardId, state);
      read += outcome.read;
      if (outcome.failed) return read;
    }
    return read;
  }

  /** One page of one shard, handed to the handler; `failed` when it is to be read again from a failed record. */
  private async readShard(shardId: string, state: ShardState): Promise<{ read: number; failed?: boolean }> {
    state.iterator ??= await this.iteratorFor(shardId, state);
    if (!state.iterator) {
      [state.done, this.listedAt] = [true, -Infinity];
      return { read: 0 };
    }
    const page = await this.options.client
      .send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: 100 }))
      .catch((error: unknown) => {
        state.iterator = undefined; // expired or refused: the next read starts again from the checkpoint
        throw error;
      });
    const records = (page.Records ?? []) as DynamoDBRecord[];
    const admitted = records.filter(this.options.filter);
    const failedAt = admitted.length > 0 ? await this.invoke(admitted) : undefined;
    if (failedAt) {
      // Read again from the failed record, after a pause; what came before it is done.
      const before = records.slice(
        0,
        records.findIndex((record) => record.dynamodb?.SequenceNumber === failedAt),
      );
      if (before.length > 0) state.checkpoint = before.at(-1)!.dynamodb!.SequenceNumber;
      state.iterator = await this.iteratorFor(shardId, state, failedAt);
      this.pausedUntil = Date.now() + (this.options.retryPauseMs ?? 1_000);
      this.saveCheckpoints();
      return { read: records.length, failed: true };
    }
    if (records.length > 0) state.checkpoint = records.at(-1)!.dynamodb!.SequenceNumber;
    state.iterator = page.NextShardIterator;
    if (!state.iterator) [state.done, this.listedAt] = [true, -Infinity];
    if (records.length > 0) this.saveCheckpoints();
    return { read: records.length };
  }

  /** The sequence number to read again from, or undefined when the whole batch was handled. */
  private async invoke(records: DynamoDBRecord[]): Promise<string | undefined> {
    try {
      const response = await this.options.handler(
        { Records: records },
        { ...this.context, awsRequestId: randomUUID() },
      );
      const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      return records.find((record) => failed.has(record.dynamodb!.SequenceNumber!))?.dynamodb?.SequenceNumber;
    } catch (error) {
      this.options.onError?.(error);
      return records[0]!.dynamodb!.SequenceNumber;
    }
  }

  private saveCheckpoints(): void {
    if (!this.options.checkpointFile) return;
    const checkpoints = Object.fromEntries(
      [...this.shards].flatMap(([id, state]) => (state.checkpoint ? [[id, state.checkpoint]] : [])),
    );
    writeFileSync(this.options.checkpointFile, JSON.stringify({ streamArn: this.options.streamArn, checkpoints }));
  }

  private async listShards(): Promise<Shard[]> {
    if (Date.now() - this.listedAt < 1_000) return this.listed;
    const shardList: Shard[] = [];
    for (let start: string | undefined; ;) {
      const page = await this.options.client.send(
        new DescribeStreamCommand({ StreamArn: this.options.streamArn, ExclusiveStartShardId: start }),
      );
      shardList.push(...(page.StreamDescription?.Shards ?? []));
      start = page.StreamDescription?.LastEvaluatedShardId;
      if (!start) break;
    }
    [this.listed, this.listedAt] = [shardList, Date.now()];
    return this.listed;
  }

  /** Shards whose parent has been read to its end (or is unknown: trimmed away), oldest first. */
  private async readableShards(): Promise<Shard[]> {
    const listed = await this.listShards();
    const listedIds = new Set(listed.map((shard) => shard.ShardId!));
    return listed
      .filter((shard) => !this.shards.get(shard.ShardId!)?.done)
      .filter(
        (shard) =>
          !shard.ParentShardId || !listedIds.has(shard.ParentShardId) || this.shards.get(shard.ParentShardId)?.done,
      )
      .sort((a, b) =>
        (a.SequenceNumberRange?.StartingSequenceNumber ?? '').localeCompare(
          b.SequenceNumberRange?.StartingSequenceNumber ?? '',
        ),
      );
  }

  private async iteratorFor(shardId: string, state: ShardState, at?: string): Promise<string | undefined> {
    const position = at
      ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER' as const, SequenceNumber: at }
      : state.checkpoint
        ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: state.checkpoint }
        : { ShardIteratorType: 'TRIM_HORIZON' as const };
    const { client, streamArn } = this.options;
    try {
      return (await client.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ...position })))
        .ShardIterator;
    } catch (error) {
      // A checkpoint older than the stream keeps (24 hours: a `.local` database started again the next
      // day; DynamoDB Local calls it an invalid sequence number): from the oldest record kept, so
      // events since may be published again, under their ids, but none is skipped.
      if (!(error instanceof TrimmedDataAccessException || isUnknownSequenceNumber(error))) throw error;
      return (
        await client.send(
          new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
        )
      ).ShardIterator;
    }
  }
}

function isUnknownSequenceNumber(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException' && /SequenceNumber/i.test(error.message);
}

function readCheckpoints(file: string | undefined, streamArn: string): Record<string, string> {
  if (!file) return {};
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as {
      streamArn?: string;
      checkpoints?: Record<string, string>;
    };
    // Another stream (the table was recreated): its positions mean nothing here.
    return saved.streamArn === streamArn ? (saved.checkpoints ?? {}) : {};
  } catch {
    return {};
  }
}
