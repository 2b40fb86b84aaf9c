import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/persistence/dynamo-repository';
import { httpRoute, type Wiring } from '../../src/http/handler';
import { routeOf } from '../../src/http/routes';

/** GET /api/products: the catalogue with current stock. */
export const makeHandler = (wiring: Wiring) => httpRoute(routeOf('list-products'), wiring, async ({ deps }) => ({ products: await deps.repo.listProducts() }));

export const handler = makeHandler(awsWiring('list-products', { table: dynamoTable }));
