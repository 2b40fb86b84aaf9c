import type { ScheduledEvent } from 'aws-lambda';
import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { providersFromEnv } from '../../shared/adapters/provider-secret';
import { sweep } from '../../shared/core/sweeper';
import { lambdaHandler, type Wiring } from '../../shared/http/handler';

/** Invoked every minute by an EventBridge schedule: expiry, reminders, lost-callback queries, unpaid orders, refunds. */
export const makeHandler = (wiring: Wiring) => lambdaHandler(wiring, async (_event: ScheduledEvent) => sweep(await wiring.deps()));

export const handler = makeHandler(awsWiring('sweeper', { table: dynamoTable, providers: providersFromEnv }));
