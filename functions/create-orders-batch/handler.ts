import { createOrders } from '../../shared/core/orders';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/orders/batch: several orders, one payment method, all or nothing. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('create-orders-batch'), deps, async ({ deps, customerId, body, remember }) => {
    const results = await createOrders(deps, { customerId, orders: body.orders, method: body.paymentMethod, ttlMinutes: body.ttlMinutes }, (created) =>
      remember({ results: created }),
    );
    return { results };
  });

export const handler = makeHandler(awsDeps);
