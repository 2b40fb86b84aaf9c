import { createOrders } from '../../shared/core/orders';
import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/orders: one order, its first payment, its stock reserved. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('create-order'), wiring, async ({ deps, customerId, body, remember }) => {
    const [result] = await createOrders(
      deps,
      { customerId, orders: [{ items: body.items }], method: body.paymentMethod, ttlMinutes: body.ttlMinutes },
      ([first]) => remember(first),
    );
    return result;
  });

export const handler = makeHandler(awsWiring('create-order', { table: dynamoTable }));
