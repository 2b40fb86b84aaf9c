import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Repository } from '../core/kernel/ports';
import { DynamoRepository } from '../persistence/dynamo-repository';
import { AWS_CLIENT_LIMITS } from './aws-client-limits';
import { requiredEnv } from './env';

/**
 * A function's `table` capability (wiring.ts): the repository over the table TABLE_NAME. Endpoint
 * discovery (optional for DynamoDB) is off: the regional endpoint serves every call, and the
 * bundles carry no discovery cache (cdk/bundle-aliases.ts).
 */
export function dynamoTable(env: NodeJS.ProcessEnv): Repository {
  return new DynamoRepository({
    client: new DynamoDBClient({ ...AWS_CLIENT_LIMITS, endpointDiscoveryEnabled: false }),
    tableName: requiredEnv('TABLE_NAME', env),
  });
}
