import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bundle } from '../../../bench/bundles';
import { defaultProvider } from '../../../src/aws/lambda-credentials';

const run = promisify(execFile);

afterEach(() => vi.unstubAllEnvs());

describe('the function bundles’ credentials (src/aws/lambda-credentials.ts)', () => {
  it('are the environment’s, as Lambda sets them, read again on every call', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAFIRST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-1');
    vi.stubEnv('AWS_SESSION_TOKEN', 'token-1');
    vi.stubEnv('AWS_CREDENTIAL_EXPIRATION', '2026-11-29T01:00:00Z');
    const provider = defaultProvider();

    expect(await provider()).toEqual({
      accessKeyId: 'ASIAFIRST',
      secretAccessKey: 'secret-1',
      sessionToken: 'token-1',
      expiration: new Date('2026-11-29T01:00:00Z'),
    });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIASECOND');
    expect(await provider()).toMatchObject({ accessKeyId: 'ASIASECOND' });
  });

  it('are refused, naming the variables, when the environment has none', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');

    await expect(defaultProvider()()).rejects.toThrow(
      'No AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
    );
  });

  it(
    'sign a bundled function’s DynamoDB request (get-order in plain node, as Lambda runs it)',
    { timeout: 60_000 },
    async () => {
      const requests: IncomingHttpHeaders[] = [];
      const dynamo = createServer((request, response) => {
        requests.push(request.headers);
        request.resume();
        request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}'));
      });
      await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
      const dir = await mkdtemp(path.join(tmpdir(), 'bundle-credentials-'));
      try {
        const file = path.join(dir, 'get-order.mjs');
        await writeFile(file, (await bundle('get-order')).code);
        const event = {
          rawPath: '/api/orders/ord_0123456789abcdefghijkl',
          headers: {},
          pathParameters: { orderId: 'ord_0123456789abcdefghijkl' },
          requestContext: { http: { method: 'GET' }, authorizer: { jwt: { claims: { sub: 'alice' }, scopes: [] } } },
        };
        const invoke = `const { handler } = await import(${JSON.stringify(file)});
        console.log(JSON.stringify(await handler(${JSON.stringify(event)}, { functionName: 'get-order', awsRequestId: 'req-1' })));`;
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', invoke], {
          env: {
            PATH: process.env.PATH,
            HOME: dir, // no ~/.aws: nothing but the environment to take credentials from
            AWS_REGION: 'ap-east-1',
            AWS_ACCESS_KEY_ID: 'ASIAFROMLAMBDAENV',
            AWS_SECRET_ACCESS_KEY: 'secret-from-lambda-env',
            AWS_SESSION_TOKEN: 'session-from-lambda-env',
            AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
            TABLE_NAME: 'payments',
            PUBLIC_BASE_URL: 'https://api.pay.example',
            PAYMENT_RETURN_URL: 'https://shop.example/orders/{orderId}',
            POWERTOOLS_LOG_LEVEL: 'SILENT',
          },
        });

        expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ statusCode: 404 });
        expect(requests).toHaveLength(1);
        expect(requests[0]!['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
        expect(requests[0]!.authorization).toMatch(
          /^AWS4-HMAC-SHA256 Credential=ASIAFROMLAMBDAENV\/\d{8}\/ap-east-1\/dynamodb\/aws4_request, /,
        );
        expect(requests[0]!['x-amz-security-token']).toBe('session-from-lambda-env');
      } finally {
        dynamo.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
