import { createOrders } from '../../src/core/orders/orders';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/orders/batch: several orders, one payment method, all or nothing. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('create-orders-batch'), wiring, async ({ deps, customerId, body, remember }) => {
    const results = await createOrders(
      deps,
      { customerId, orders: body.orders, method: body.paymentMethod, ttlMinutes: body.ttlMinutes },
      (created) => remember({ results: created }),
    );
    return { results };
  });

export const handler = makeHandler(awsWiring('create-orders-batch', { table: dynamoTable }));
