import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { httpRoute } from '../../src/http/route';
import type { Wiring } from '../../src/runtime/wiring';
import { routeOf } from '../../src/http/routes';
import { newProductWrites } from '../../src/core/orders/stock';

/** POST /api/products: catalogue seeding for local and dev stages (admin scope). */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('create-product'), wiring, async ({ deps, body, remember }) => {
    await deps.repo.commit([...newProductWrites(body), ...remember(body)]);
    return body;
  });

export const handler = makeHandler(awsWiring('create-product', { table: dynamoTable }));
