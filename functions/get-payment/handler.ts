import { getPayment } from '../../src/core/payments/payments';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/payments/{paymentId}: an open payment past its expiry reads `expired`. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('get-payment'), wiring, ({ deps, customerId, params }) =>
    getPayment(deps, customerId, params.paymentId),
  );

export const handler = makeHandler(awsWiring('get-payment', { table: dynamoTable }));
