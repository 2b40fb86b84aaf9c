import { addPayment } from '../../shared/core/orders';
import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/orders/{orderId}/payments: pay again after a failed, cancelled or expired payment. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('add-payment'), wiring, ({ deps, customerId, params, body, remember }) =>
    addPayment(deps, { customerId, orderId: params.orderId, method: body.paymentMethod, ttlMinutes: body.ttlMinutes }, remember),
  );

export const handler = makeHandler(awsWiring('add-payment', { table: dynamoTable }));
