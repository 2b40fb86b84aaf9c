import { startPayment } from '../../src/core/payments/payments';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/payments/{paymentId}/start: the provider checkout; init → processing. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('start-payment'), wiring, ({ deps, customerId, params, body }) =>
    startPayment(deps, { customerId, paymentId: params.paymentId, channel: body.channel }),
  );

export const handler = makeHandler(awsWiring('start-payment', { table: dynamoTable, providers: providersFromEnv }));
