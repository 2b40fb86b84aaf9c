import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { awsWiring } from '../../src/aws/wiring';
import { lambdaHandler, type Wiring } from '../../src/runtime/wiring';
import { buildOpenApiDocument, serializeOpenApiDocument } from '../../src/http/openapi';

/**
 * GET /api/openapi.json: public, so not an httpRoute (that one requires a customer token). The
 * document only depends on this deployment's URL, so it is built once per container.
 */
export const makeHandler = (wiring: Wiring) => {
  let document: string | undefined;
  return lambdaHandler(wiring, async (_event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    document ??= serializeOpenApiDocument(buildOpenApiDocument({ serverUrl: (await wiring.deps()).publicBaseUrl }));
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: document };
  });
};

export const handler = makeHandler(awsWiring('openapi', {}));
