import { createOrders } from '../../src/core/orders/orders';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

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
