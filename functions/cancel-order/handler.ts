import { cancelOrder } from '../../src/core/orders/orders';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { providersFromEnv } from '../../src/aws/provider-secret';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/orders/{orderId}/cancel: unpaid order cancelled, open payment cancelled, stock released. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('cancel-order'), wiring, ({ deps, customerId, params }) =>
    cancelOrder(deps, customerId, params.orderId),
  );

export const handler = makeHandler(awsWiring('cancel-order', { table: dynamoTable, providers: providersFromEnv }));
