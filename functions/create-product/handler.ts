import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/products: catalogue seeding for local and dev stages (admin scope). */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('create-product'), wiring, async ({ deps, body, remember }) => {
    await deps.repo.commit([{ kind: 'putProduct', product: body }, ...remember(body)]);
    return body;
  });

export const handler = makeHandler(awsWiring('create-product', { table: dynamoTable }));
