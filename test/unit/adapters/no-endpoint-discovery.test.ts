import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import * as endpointCache from '@aws-sdk/endpoint-cache';
import { describe, expect, it } from 'vitest';
import { AWS_CLIENT_LIMITS } from '../../../src/aws/aws-client-limits';
import { dynamoTable } from '../../../src/aws/dynamo-table';
import { EndpointCache } from '../../../src/aws/no-endpoint-discovery';
import * as standIn from '../../../src/aws/no-endpoint-discovery';

/** The bundles' stand-in for @aws-sdk/endpoint-cache (cdk/bundle-aliases.ts). */
describe('no-endpoint-discovery', () => {
  it('exports what the real module exports, so its importer gets what it asks for', () => {
    expect(Object.keys(standIn)).toEqual(['EndpointCache']);
    expect(Object.keys(endpointCache)).toContain('EndpointCache');
  });

  it('is what the functions get: dynamoTable builds its client with endpoint discovery off', async () => {
    const repo = dynamoTable({ TABLE_NAME: 'payments' }) as unknown as {
      doc: { config: { endpointDiscoveryEnabled(): Promise<boolean> } };
    };

    expect(await repo.doc.config.endpointDiscoveryEnabled()).toBe(false);
  });

  it('serves a request to the regional endpoint (no custom endpoint) without ever being filled', async () => {
    const client = new DynamoDBClient({
      ...AWS_CLIENT_LIMITS,
      endpointDiscoveryEnabled: false,
      region: 'ap-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' },
    });
    Object.assign(client.config, { endpointCache: new EndpointCache() });
    let sentTo: string | undefined;
    // Stops the request where it would leave for the network, after the discovery middleware ran.
    client.middlewareStack.add(
      () => async (args) => {
        sentTo = (args.request as { hostname: string }).hostname;
        return { response: {}, output: { $metadata: {}, Item: { pk: { S: 'x' } } } } as never;
      },
      { step: 'finalizeRequest', priority: 'low', name: 'stopBeforeTheNetwork' },
    );

    const { Item } = await client.send(
      new GetItemCommand({ TableName: 'payments', Key: { pk: { S: 'x' }, sk: { S: 'x' } } }),
    );

    expect(Item).toEqual({ pk: { S: 'x' } });
    expect(sentTo).toBe('dynamodb.ap-east-1.amazonaws.com');
  });

  it('finds nothing, and refuses to be filled', () => {
    const cache = new EndpointCache();

    expect([cache.getEndpoint(), cache.get(), cache.has()]).toEqual([undefined, undefined, false]);
    expect(() => cache.set()).toThrow(/endpoint discovery is off in this function bundle/);
  });
});
