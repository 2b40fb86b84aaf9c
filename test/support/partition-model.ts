import {
  type AttributeValue,
  type DynamoDBClient,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../src/persistence/table-definition';
import { itemBytes } from '../../bench/write-units';

/**
 * DynamoDB's partition limits, which DynamoDB Local does not have, as SDK middleware (tests and
 * the bench only, never the product path). Each partition key is taken as a partition of its own
 * (what adaptive capacity does for a hot item at best), metered per second in write units by AWS's
 * rules: an item's size rounded up per KB, twice in a transaction; a Put that carries an index's
 * key attribute also writes that index's partition (1 unit per KB). A request that would take any
 * partition past `unitsPerSecond` is refused as DynamoDB refuses it: a single write with
 * ThrottlingException, a transaction with TransactionCanceledException whose reason for each
 * item over the limit is ThrottlingError. A refused request consumes nothing.
 *
 * Keyed writes (Update, Delete, ConditionCheck) are taken as 1 KB: the model does not read the
 * item. The items a flash sale makes hot (a product, its shards) are well under 1 KB.
 */
export class PartitionModel {
  /** Write units per partition key in the current second. */
  private window = { second: -1, units: new Map<string, number>() };
  /** Requests refused, and the partition that was hottest in any second. */
  readonly stats = { throttledRequests: 0, acceptedRequests: 0, peakUnits: new Map<string, number>() };

  constructor(
    readonly unitsPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Meters every write request `client` sends from now on. */
  attach(client: DynamoDBClient): this {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        this.admit(context.commandName ?? '', args.input as unknown as Record<string, unknown>);
        return next(args);
      },
      { step: 'build', name: 'partitionModel', override: true },
    );
    return this;
  }

  /** Throws as DynamoDB would when the request's writes do not fit; else books them. */
  admit(commandName: string, input: Record<string, unknown>): void {
    const writes = writesOf(commandName, input);
    if (writes.length === 0) return;
    const second = Math.floor(this.now() / 1000);
    if (second !== this.window.second) this.window = { second, units: new Map() };
    const wanted = new Map<string, number>();
    for (const write of writes) for (const [key, units] of write) wanted.set(key, (wanted.get(key) ?? 0) + units);
    const over = (key: string) => (this.window.units.get(key) ?? 0) + wanted.get(key)! > this.unitsPerSecond;
    if ([...wanted.keys()].some(over)) {
      this.stats.throttledRequests++;
      throw commandName === 'TransactWriteItemsCommand'
        ? transactionThrottled(writes.map((write) => [...write.keys()].some(over)))
        : new ThrottlingException({ message: 'Throughput exceeds the current capacity of your table', $metadata: {} });
    }
    this.stats.acceptedRequests++;
    for (const [key, units] of wanted) {
      const total = (this.window.units.get(key) ?? 0) + units;
      this.window.units.set(key, total);
      if (total > (this.stats.peakUnits.get(key) ?? 0)) this.stats.peakUnits.set(key, total);
    }
  }

  /** The `count` partitions with the most write units in any one second. */
  hottest(count: number): Array<{ partition: string; unitsPerSecond: number }> {
    return [...this.stats.peakUnits]
      .sort(([, a], [, b]) => b - a)
      .slice(0, count)
      .map(([partition, unitsPerSecond]) => ({ partition, unitsPerSecond }));
  }
}

type Body = { Item?: Record<string, AttributeValue>; Key?: Record<string, AttributeValue> };

/** Per write item of the request: partition → units. */
function writesOf(commandName: string, input: Record<string, unknown>): Array<Map<string, number>> {
  if (commandName === 'TransactWriteItemsCommand')
    return ((input.TransactItems ?? []) as Array<Record<string, Body>>).map((op) => unitsOf(Object.values(op)[0]!, 2));
  if (/^(Put|Update|Delete)ItemCommand$/.test(commandName)) return [unitsOf(input as Body, 1)];
  return [];
}

const INDEXES = [TABLE.dueIndex, TABLE.catalogIndex, TABLE.ledgerIndex];
const kilobytes = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

function unitsOf(body: Body, factor: number): Map<string, number> {
  const item = body.Item ?? body.Key!;
  const size = body.Item ? kilobytes(itemBytes(body.Item)) : 1;
  const units = new Map([[`table:${item.pk?.S ?? '?'}`, factor * size]]);
  for (const index of INDEXES) {
    const value = body.Item?.[index.partitionKey]?.S;
    if (value) units.set(`${index.name}:${value}`, index.projection === 'KEYS_ONLY' ? 1 : size);
  }
  return units;
}

function transactionThrottled(itemsOver: boolean[]): TransactionCanceledException {
  const codes = itemsOver.map((over) => (over ? 'ThrottlingError' : 'None'));
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: {},
    CancellationReasons: itemsOver.map((over) =>
      over
        ? {
            Code: 'ThrottlingError',
            Message: 'Throughput exceeds the current capacity for one or more global secondary indexes or the table',
          }
        : { Code: 'None' },
    ),
  });
}
