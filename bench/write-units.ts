import { type AttributeValue, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

/**
 * DynamoDB write units by AWS's published rules, for the bench's cost figures: DynamoDB Local's
 * ReturnConsumedCapacity bills a transaction by the total size of its items, where AWS bills
 * each item on its own, twice for a transaction (TransactWriteItems: 2 units per KB of every
 * item, condition checks included; a plain write: 1 per KB). The table's part is counted here; the
 * secondary indexes' part is taken from DynamoDB Local as it reports it.
 */

/** An attribute value's size as DynamoDB bills it (approximately for numbers: 1 byte per 2 digits, plus 1). */
function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M)
    return (
      3 +
      Object.entries(value.M).reduce((sum, [name, inner]) => sum + Buffer.byteLength(name) + valueBytes(inner) + 1, 0)
    );
  if (value.L) return 3 + value.L.reduce((sum, inner) => sum + valueBytes(inner) + 1, 0);
  if (value.SS) return value.SS.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  if (value.NS) return value.NS.reduce((sum, number) => sum + Math.ceil(number.length / 2) + 1, 0);
  return 0;
}

export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);
}

const kilobytes = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** The document client hands the SDK plain values; the low-level client attribute values. */
function asAttributes(item: Record<string, unknown>): Record<string, AttributeValue> {
  const first = Object.values(item)[0];
  const marshalled =
    typeof first === 'object' &&
    first !== null &&
    Object.keys(first).length === 1 &&
    /^(S|N|B|BOOL|NULL|M|L|SS|NS|BS)$/.test(Object.keys(first)[0]!);
  return marshalled
    ? (item as Record<string, AttributeValue>)
    : marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true });
}

type Operation = {
  Put?: { Item: Record<string, unknown> };
  Update?: { Key: Record<string, unknown> };
  Delete?: { Key: Record<string, unknown> };
  ConditionCheck?: { Key: Record<string, unknown> };
};

/**
 * Counts the table's write units of each write request by AWS's rules. A Put carries its item;
 * an update, delete or condition check names only a key: that item is read as the write goes out
 * (not awaited, so the measured handler takes no longer), as it then was or just after. Read at
 * the end instead, a payment checked while it carried its pay URL would be sized without it.
 */
export class AwsWriteUnits {
  units = 0;
  private readonly keyed: Array<Promise<number>> = [];

  constructor(private readonly reader: DynamoDBClient) {}

  record(commandName: string, input: Record<string, unknown>): void {
    if (commandName === 'TransactWriteItemsCommand') {
      for (const operation of (input.TransactItems ?? []) as Operation[]) {
        const [, body] = Object.entries(operation)[0] as [
          string,
          { Item?: Record<string, unknown>; Key?: Record<string, unknown>; TableName: string },
        ];
        this.add(body, 2);
      }
    } else if (/^(Put|Update|Delete)(Item)?Command$/.test(commandName)) {
      this.add(input as { Item?: Record<string, unknown>; Key?: Record<string, unknown>; TableName: string }, 1);
    } else if (commandName === 'BatchWriteItemCommand') {
      for (const [tableName, requests] of Object.entries(
        (input.RequestItems ?? {}) as Record<
          string,
          Array<Record<string, { Item?: Record<string, unknown>; Key?: Record<string, unknown> }>>
        >,
      )) {
        for (const request of requests)
          this.add({ ...(request.PutRequest ?? request.DeleteRequest)!, TableName: tableName }, 1);
      }
    }
  }

  private add(
    body: { Item?: Record<string, unknown>; Key?: Record<string, unknown>; TableName: string },
    factor: number,
  ): void {
    if (body.Item) this.units += factor * kilobytes(itemBytes(asAttributes(body.Item)));
    else if (body.Key)
      this.keyed.push(
        this.reader
          .send(new GetItemCommand({ TableName: body.TableName, Key: asAttributes(body.Key), ConsistentRead: true }))
          .then(({ Item }) => factor * kilobytes(Item ? itemBytes(Item) : 0)),
      );
  }

  /** Adds the writes named by key once their items are read, then answers the total. */
  async settle(): Promise<number> {
    for (const units of await Promise.all(this.keyed.splice(0))) this.units += units;
    return this.units;
  }
}
