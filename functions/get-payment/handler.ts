import { getPayment } from '../../src/core/payments/payments';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** GET /api/payments/{paymentId}: an open payment past its expiry reads `expired`; staff read anyone's. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('get-payment'), wiring, ({ deps, customerId, isAdmin, params }) =>
    getPayment(deps, { customerId, isAdmin }, params.paymentId),
  );

export const handler = makeHandler(awsWiring('get-payment', { table: dynamoTable }));
