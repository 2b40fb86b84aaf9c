import type { ScheduledEvent } from 'aws-lambda';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { dueQueue } from '../../src/aws/due-queue';
import { sweep } from '../../src/core/sweeper/sweeper';
import { lambdaHandler, type Wiring } from '../../src/runtime/wiring';

/** Invoked every minute by an EventBridge schedule: due payments to the expiry worker, unpaid orders, refunds. */
export const makeHandler = (wiring: Wiring) =>
  lambdaHandler(wiring, async (_event: ScheduledEvent) => sweep(await wiring.deps()));

export const handler = makeHandler(awsWiring('sweeper', { table: dynamoTable, providers: providersFromEnv, dueQueue }));
