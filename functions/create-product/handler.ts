import { awsDeps } from '../../shared/adapters/aws-deps';
import { type DepsProvider, httpRoute } from '../../shared/http/handler';
import { CreateProductBody } from '../../shared/http/schemas';

/** POST /api/products: catalogue seeding for local and dev stages (admin scope). */
export const makeHandler = (deps: DepsProvider) =>
  httpRoute({ auth: 'admin', body: CreateProductBody, idempotent: true, successStatus: 201 }, deps, async ({ deps, body, remember }) => {
    await deps.repo.commit([{ kind: 'putProduct', product: body }, ...remember(body)]);
    return body;
  });

export const handler = makeHandler(awsDeps);
