import { cancelPayment } from '../../src/core/payments/payments';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/payments/{paymentId}/cancel: the customer gives up; the order stays pending. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('cancel-payment'), wiring, ({ deps, customerId, params }) =>
    cancelPayment(deps, { customerId, paymentId: params.paymentId }),
  );

export const handler = makeHandler(awsWiring('cancel-payment', { table: dynamoTable, providers: providersFromEnv }));
