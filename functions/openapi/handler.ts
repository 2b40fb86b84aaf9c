import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { awsDeps } from '../../shared/adapters/aws-deps';
import type { DepsProvider } from '../../shared/http/handler';
import { buildOpenApiDocument, serializeOpenApiDocument } from '../../shared/http/openapi';

/**
 * GET /api/openapi.json: public, so not an httpRoute (that one requires a customer token). The
 * document only depends on this deployment's URL, so it is built once per container.
 */
export const makeHandler = (getDeps: DepsProvider) => {
  let document: string | undefined;
  return async (_event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    document ??= serializeOpenApiDocument(buildOpenApiDocument({ serverUrl: (await getDeps()).publicBaseUrl }));
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: document };
  };
};

export const handler = makeHandler(awsDeps);
