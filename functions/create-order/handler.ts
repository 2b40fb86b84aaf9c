import { createOrders } from '../../shared/core/orders';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/orders: one order, its first payment, its stock reserved. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('create-order'), deps, async ({ deps, customerId, body, remember }) => {
    const [result] = await createOrders(deps, { customerId, orders: [{ items: body.items }], method: body.paymentMethod, ttlMinutes: body.ttlMinutes }, ([first]) =>
      remember(first),
    );
    return result;
  });

export const handler = makeHandler(awsDeps);
