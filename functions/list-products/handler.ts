import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';
import { productView } from '../../src/core/orders/views';
import { catalogueListing } from '../../src/core/orders/catalogue';

/** GET /api/products: the catalogue with its stock, at most a second old for customers, current for staff. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('list-products'), wiring, async ({ deps, isAdmin }) => ({
    products: (await catalogueListing(deps.repo, deps.clock.now().getTime(), isAdmin)).map(productView),
  }));

export const handler = makeHandler(awsWiring('list-products', { table: dynamoTable }));
