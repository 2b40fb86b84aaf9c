import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { paginate } from '../../../src/persistence/paginate';
import { DynamoTable } from '../../../src/persistence/table';

/** Two partitions (shards): `a` holds a1..a3, `b` holds b1..b2, served one item a page. */
const PARTITIONS = { a: ['a1', 'a2', 'a3'], b: ['b1', 'b2'] };
const partition = (name: 'a' | 'b') => ({
  KeyConditionExpression: 'pk = :pk',
  ExpressionAttributeValues: { ':pk': name },
});

const documentClient = mockClient(DynamoDBDocumentClient);
const table = new DynamoTable(new DynamoDBClient({ region: 'local' }), 'payments');
const sent = () => documentClient.commandCalls(QueryCommand).map((call) => call.args[0].input);

beforeEach(() => {
  documentClient.reset();
  documentClient.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const ids = PARTITIONS[input.ExpressionAttributeValues![':pk'] as 'a' | 'b'];
    const from = input.ExclusiveStartKey ? ids.indexOf(input.ExclusiveStartKey.id as string) + 1 : 0;
    const id = ids[from];
    const last = from >= ids.length - 1;
    return { Items: id ? [{ id }] : [], Count: id ? 1 : 0, ...(last ? {} : { LastEvaluatedKey: { id } }) };
  });
});

describe('paginate', () => {
  it('follows every page of one partition, one request a page, and ends without a cursor', async () => {
    const result = await paginate(table, { partitions: [partition('a')] });

    expect(result).toEqual({ items: [{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }], count: 3, cursor: undefined });
    expect(sent().map((input) => input.ExclusiveStartKey)).toEqual([undefined, { id: 'a1' }, { id: 'a2' }]);
    expect(sent().every((input) => input.TableName === 'payments' && input.Limit === undefined)).toBe(true);
  });

  it('walks the partitions in order, the next one once the last page of the one before is read', async () => {
    const result = await paginate(table, { partitions: [partition('a'), partition('b')] });

    expect(result.items.map((item) => item.id)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    expect(result.count).toBe(5);
    expect(sent()).toHaveLength(5);
  });

  it('with a limit asks each request for what is missing, stops there, and resumes from its cursor inside a partition and across', async () => {
    const partitions = [partition('a'), partition('b')];
    const first = await paginate(table, { partitions, limit: 2 });
    const second = await paginate(table, { partitions, limit: 2, cursor: first.cursor });
    const third = await paginate(table, { partitions, limit: 2, cursor: second.cursor });

    expect([first, second, third].map((page) => page.items.map((item) => item.id))).toEqual([
      ['a1', 'a2'],
      ['a3', 'b1'],
      ['b2'],
    ]);
    expect(first.cursor).toBeDefined();
    expect(second.cursor).toBeDefined();
    expect(third.cursor).toBeUndefined();
    expect(sent().map((input) => input.Limit)).toEqual([2, 1, 2, 1, 2]);
  });

  it('sums what COUNT queries answer, with no items', async () => {
    documentClient.on(QueryCommand).resolves({ Count: 7 });

    expect(await paginate(table, { partitions: [partition('a'), partition('b')] })).toEqual({
      items: [],
      count: 14,
      cursor: undefined,
    });
  });
});
