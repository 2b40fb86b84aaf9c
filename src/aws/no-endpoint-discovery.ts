/**
 * Replaces @aws-sdk/endpoint-cache in the function bundles only (the alias in cdk/bundle-aliases.ts).
 * DynamoDB's client carries endpoint discovery and asks its cache (an LRU from mnemonist, about
 * 8 KB bundled) on every request; our client turns discovery off (dynamoTable), so the cache is
 * never filled and every lookup finds nothing. This cache is always empty and refuses to be filled.
 */
export class EndpointCache {
  getEndpoint(): undefined {
    return undefined;
  }
  get(): undefined {
    return undefined;
  }
  has(): boolean {
    return false;
  }
  set(): never {
    throw new Error(
      'EndpointCache: endpoint discovery is off in this function bundle (cdk/bundle-aliases.ts, dynamoTable)',
    );
  }
  delete(): void {}
  clear(): void {}
}
