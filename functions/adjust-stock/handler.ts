import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { adjustProductStock } from '../../src/core/staff/catalogue-actions';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** POST /api/products/{sku}/stock: a conditional increment, never below what open orders hold. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('adjust-stock'), wiring, ({ deps, customerId, params, body, remember }) =>
    adjustProductStock(deps, { actor: customerId, sku: params.sku, ...body }, remember),
  );

export const handler = makeHandler(awsWiring('adjust-stock', { table: dynamoTable }));
