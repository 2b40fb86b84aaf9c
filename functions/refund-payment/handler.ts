import { awsWiring } from '../../shared/adapters/aws-deps';
import { dynamoTable } from '../../shared/adapters/dynamo-repository';
import { providersFromEnv } from '../../shared/adapters/provider-secret';
import { refundPayment } from '../../shared/core/refunds';
import { httpRoute, type Wiring } from '../../shared/http/handler';
import { routeOf } from '../../shared/http/routes';

/** POST /api/payments/{paymentId}/refunds (admin scope): record, reserve, then ask the provider. */
export const makeHandler = (wiring: Wiring) =>
  httpRoute(routeOf('refund-payment'), wiring, ({ deps, params, body, remember }) => refundPayment(deps, { paymentId: params.paymentId, ...body }, remember));

export const handler = makeHandler(awsWiring('refund-payment', { table: dynamoTable, providers: providersFromEnv }));
