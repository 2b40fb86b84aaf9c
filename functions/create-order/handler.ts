import { createOrders } from '../../shared/core/orders';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { CreateOrderBody } from '../../shared/http/schemas';

/** POST /api/orders: one order, its first payment, its stock reserved. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute({ auth: 'customer', body: CreateOrderBody, idempotent: true, successStatus: 201 }, deps, async ({ deps, customerId, body, remember }) => {
    const [result] = await createOrders(deps, { customerId, orders: [{ items: body.items }], method: body.paymentMethod, ttlMinutes: body.ttlMinutes }, ([first]) =>
      remember(first),
    );
    return result;
  });

export const handler = makeHandler(awsDeps);
