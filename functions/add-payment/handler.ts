import { addPayment } from '../../src/core/orders/orders';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/orders/{orderId}/payments: pay again after a failed, cancelled or expired payment. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('add-payment'), wiring, ({ deps, customerId, params, body, remember }) =>
    addPayment(
      deps,
      { customerId, orderId: params.orderId, method: body.paymentMethod, ttlMinutes: body.ttlMinutes },
      remember,
    ),
  );

export const handler = makeHandler(awsWiring('add-payment', { table: dynamoTable }));
