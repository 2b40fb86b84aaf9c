import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { receiveCallback } from '../../shared/core/callbacks';
import type { DepsProvider } from '../../shared/http/handler';

/**
 * POST /api/payments/callback/{provider}. No JWT: the provider's signature is the authentication,
 * verified over the raw body bytes exactly as received (API Gateway base64-encodes non-text bodies).
 */
export const makeHandler =
  (getDeps: DepsProvider) =>
  async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const deps = await getDeps();
    try {
      const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
      const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
      return await receiveCallback(deps, event.pathParameters?.provider ?? '', { headers, body });
    } finally {
      deps.metrics.flush();
    }
  };

export const handler = makeHandler(awsDeps);
