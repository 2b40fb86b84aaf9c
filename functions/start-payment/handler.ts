import { startPayment } from '../../shared/core/payments';
import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { providersFromEnv } from '../../shared/adapters/provider-secret';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/payments/{paymentId}/start: the provider checkout; init → processing. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('start-payment'), wiring, ({ deps, customerId, params, body }) =>
    startPayment(deps, { customerId, paymentId: params.paymentId, channel: body.channel }),
  );

export const handler = makeHandler(awsWiring('start-payment', { table: dynamoTable, providers: providersFromEnv }));
