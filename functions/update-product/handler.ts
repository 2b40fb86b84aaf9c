import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { updateProduct } from '../../src/core/staff/catalogue-actions';
import { ifMatchVersion } from '../../src/http/if-match';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';

/** PATCH /api/products/{sku}: name, price, active, conditional on If-Match (412 when it moved on). */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('update-product'), wiring, ({ deps, customerId, params, body: { reason, ...patch }, event }) =>
    updateProduct(deps, { actor: customerId, reason, sku: params.sku, ifMatch: ifMatchVersion(event), patch }),
  );

export const handler = makeHandler(awsWiring('update-product', { table: dynamoTable }));
