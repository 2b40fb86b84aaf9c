import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type BatchGetCommandOutput, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { type ItemKey, stripStorage } from './keys';

/** The table every aggregate module reads and writes: its document client and name, and the reads they share. */
export class DynamoTable {
  readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    readonly name: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** One item, read consistently, without its storage attributes. */
  async getItem<T>(itemKey: ItemKey): Promise<T | undefined> {
    const result = await this.doc.send(new GetCommand({ TableName: this.name, Key: itemKey, ConsistentRead: true }));
    return result.Item ? stripStorage<T>(result.Item) : undefined;
  }

  /** The items that exist of `keys` (in no particular order). */
  async batchGet<T>(keys: readonly ItemKey[]): Promise<T[]> {
    return [...(await this.batchGetWithKeys<T>(keys)).values()];
  }

  /** The items that exist of `keys`, by `pk|sk`, without their storage attributes: 100 a request, consistently, unprocessed keys retried. */
  async batchGetWithKeys<T>(keys: readonly ItemKey[]): Promise<Map<string, T>> {
    const found = new Map<string, T>();
    for (let start = 0; start < keys.length; start += 100) {
      let pending: Array<Record<string, unknown>> | undefined = keys.slice(start, start + 100);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        const result: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.name]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of result.Responses?.[this.name] ?? [])
          found.set(`${String(item.pk)}|${String(item.sk)}`, stripStorage<T>(item));
        pending = result.UnprocessedKeys?.[this.name]?.Keys;
        if (pending?.length) await sleep(20 * 2 ** Math.min(attempt, 5));
      }
    }
    return found;
  }

  /** The items of `ids` that exist, in the order of `ids`. */
  async getInOrder<T>(ids: readonly string[], keyOf: (id: string) => ItemKey, idOf: (item: T) => string): Promise<T[]> {
    const items = await this.batchGet<T>(ids.map(keyOf));
    const byId = new Map(items.map((item) => [idOf(item), item]));
    return ids.map((id) => byId.get(id)).filter((item): item is T => item !== undefined);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
