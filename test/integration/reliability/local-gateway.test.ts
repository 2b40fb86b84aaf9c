import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repository } from '../../../src/core/kernel/ports';
import { RUNTIME_START_TIMEOUT_MS, startTestRuntime, type TestRuntime } from '../../e2e/local-runtime';
import { hostileString } from '../../support/hostile';
import { writeFigures } from '../../support/reliability-fixtures';

/**
 * Hostile paths against `npm start` itself, over HTTP: the local gateway routes them (or
 * answers 400 / 401 / 403 / 404 as API Gateway does) and the handlers answer them. Never a 5xx, and nothing
 * written for a refused request.
 */

let env: TestRuntime;
let token: string;
let commits = 0;
let tried = 0;

beforeAll(async () => {
  env = await startTestRuntime();
  token = await env.tokenFor('cust_gateway');
  // Counted at the repository port: the runtime's DynamoDB client is its own.
  const repo = env.runtime.deps.repo;
  env.runtime.deps.repo = new Proxy(repo, {
    get: (target, property, receiver) => {
      if (property === 'commit' || property === 'deleteOutboxEntry') commits++;
      return Reflect.get(target, property, receiver);
    },
  }) as Repository;
}, RUNTIME_START_TIMEOUT_MS);

afterAll(async () => {
  writeFigures('local-gateway', { hostileInputs: tried });
  await env?.stop();
});

/** Well-formed percent-encoding of any string (a lone surrogate becomes U+FFFD, as a browser sends it). */
const encoded = (text: string) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\ufffd'));
const segment = fc.oneof(
  hostileString.map(encoded),
  fc.webSegment(),
  fc.constantFrom('orders', 'payments', 'batch', 'cancel', 'start', 'products', 'openapi.json'),
);
const apiPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => `/api/${segments.join('/')}`);

async function request(method: string, path: string, authorized: boolean) {
  tried++;
  const before = commits;
  const response = await fetch(`${env.runtime.baseUrl}${path}`, {
    method,
    headers: authorized ? { authorization: `Bearer ${token}`, 'content-type': 'application/json' } : {},
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    wrote: commits - before,
  };
}

/**
 * API Gateway's own answers carry `{message}` (400 for a path it cannot decode, 401 without a
 * token, 403 from the authorizer for an admin route without the admin scope, 404 off the route
 * table); the functions' carry `{error:{code,message}}`.
 */
const GATEWAY_STATUSES = [400, 401, 403, 404];
function expectAnswerShape(answer: { status: number; body: Record<string, unknown>; wrote: number }) {
  expect(answer.status).toBeLessThan(500);
  if (answer.status < 400) return;
  const gateway = typeof answer.body.message === 'string' && GATEWAY_STATUSES.includes(answer.status);
  if (!gateway) expect(answer.body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  expect(answer.wrote).toBe(0);
}

describe('hostile paths over HTTP to the local runtime', () => {
  it('well-formed paths of any content: routed or refused, never a 5xx, nothing written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST'),
        apiPath.filter((path) => !path.startsWith('/api/payments/callback/')),
        fc.boolean(),
        async (method, path, authorized) => {
          expectAnswerShape(await request(method, path, authorized));
        },
      ),
      { numRuns: 100, seed: 515 },
    );
  });

  // Fixed defect: the gateway's decodeURIComponent threw and the runtime answered 500.
  it('malformed percent-encoding in a path parameter: 400 {"message":"Bad Request"} from the gateway, nothing written', async () => {
    for (const path of ['/api/orders/%E0%A4%A', '/api/payments/%ZZ/start', '/api/orders/ord_%']) {
      expect(await request(path.endsWith('start') ? 'POST' : 'GET', path, true), path).toEqual({
        status: 400,
        body: { message: 'Bad Request' },
        wrote: 0,
      });
    }
  });
});
