import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/products: catalogue seeding for local and dev stages (admin scope). */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute(routeOf('create-product'), deps, async ({ deps, body, remember }) => {
    await deps.repo.commit([{ kind: 'putProduct', product: body }, ...remember(body)]);
    return body;
  });

export const handler = makeHandler(awsDeps);
