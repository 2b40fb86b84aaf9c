import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** GET /api/products: the catalogue with current stock. */
export const makeHandler = (wiring: Wiring) => httpRoute(routeOf('list-products'), wiring, async ({ deps }) => ({ products: await deps.repo.listProducts() }));

export const handler = makeHandler(awsWiring('list-products', { table: dynamoTable }));
