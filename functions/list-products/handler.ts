import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** GET /api/products: the catalogue with current stock. */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('list-products'), deps, async ({ deps }) => ({ products: await deps.repo.listProducts() }));

export const handler = makeHandler(awsDeps);
