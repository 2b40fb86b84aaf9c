import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';
import { productView } from '../../src/core/orders/views';

/** GET /api/products: the catalogue with current stock. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('list-products'), wiring, async ({ deps }) => ({
    products: (await deps.repo.listProducts()).map(productView),
  }));

export const handler = makeHandler(awsWiring('list-products', { table: dynamoTable }));
