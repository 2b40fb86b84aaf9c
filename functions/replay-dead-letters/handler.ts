import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { sqsQueue } from '../../src/aws/sqs-queue';
import { replayDeadLetters } from '../../src/core/staff/dead-letter-actions';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/admin/dead-letters/replay: every dead letter back to the worker's queue, as npm run dlq:replay does. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('replay-dead-letters'), wiring, ({ deps, customerId, body, remember }) =>
    replayDeadLetters(deps, { actor: customerId, reason: body.reason }, remember),
  );

export const handler = makeHandler(awsWiring('replay-dead-letters', { table: dynamoTable, queue: sqsQueue }));
