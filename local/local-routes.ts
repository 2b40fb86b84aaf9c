import { countWaiting } from '../src/core/staff/waiting-counts';
import { CONSOLE_HTML } from './console-page';
import * as z from 'zod';
import { ManualRun } from '../functions/reconcile/handler';
import { redriveDeadLetters } from '../src/aws/sqs-queue';
import type { Deps } from '../src/core/kernel/deps';
import type { Repository } from '../src/core/kernel/ports';
import { latestReconciliations } from '../src/core/reconciliation/reconciliation';
import { businessDateOf } from '../src/domain/bill';
import type { ReconciliationDay } from '../src/domain/reconciliation';
import { DASHBOARD_HTML, dashboardFigures } from './dashboard';
import { parseBucketSeconds } from './dashboard-series';
import type { DevIssuer } from './dev-jwt';
import { type GatewayRequest, type GatewayRoute, jsonAnswer } from './gateway';
import type { LocalQueues } from './queues';
import type { RecordedMetrics } from './recorded-metrics';
import type { RecordingEventBus } from './recording-event-bus';
import type { Sandbox } from './sandbox/types';
import { webhookConsoleRoutes } from './webhooks/console';

/** What the local routes read and run. */
export interface LocalRoutesInput {
  devIssuer: DevIssuer;
  deps: Deps;
  /** The repository itself (a bench may wrap deps.repo). */
  repo: Repository;
  metrics: RecordedMetrics;
  bus: RecordingEventBus;
  queues: LocalQueues;
  sandbox: Sandbox;
  runReconciliation(run: ManualRun): Promise<ReconciliationDay>;
}

/**
 * The gateway's own routes, before the API's: health, the dev issuer's discovery documents, the
 * local dashboard and tools (`/_local`), and the sandbox providers (`/sandbox`).
 */
export function localRoutes(input: LocalRoutesInput): GatewayRoute[] {
  const { devIssuer, bus, queues, sandbox } = input;
  return [
    { path: '/health', answer: async () => jsonAnswer(200, { ok: true }) },
    { path: '/.well-known/openid-configuration', answer: async () => jsonAnswer(200, devIssuer.openidConfiguration()) },
    { path: '/.well-known/jwks.json', answer: async () => jsonAnswer(200, devIssuer.jwks) },
    {
      path: '/_local/dashboard',
      answer: async () => ({
        statusCode: 200,
        body: DASHBOARD_HTML,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      }),
    },
    { path: '/_local/dashboard.json', answer: (request) => dashboard(input, request) },
    {
      path: '/_local/console',
      answer: async () => ({
        statusCode: 200,
        body: CONSOLE_HTML,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      }),
    },
    // The open counts the waiting-state alarms watch (the sweeper's gauges), live.
    { path: '/_local/waiting.json', answer: async () => jsonAnswer(200, await countWaiting(input)) },
    { path: '/_local/events', answer: async () => jsonAnswer(200, { events: bus.published }) },
    // What the daily schedule does in AWS, for one day on demand (npm run reconcile).
    { path: '/_local/reconcile', method: 'POST', answer: (request) => reconcile(input, request) },
    {
      path: '/_local/dlq/replay',
      method: 'POST',
      answer: async () =>
        jsonAnswer(200, {
          moved: await redriveDeadLetters(queues.client, { queueUrl: queues.queueUrl, dlqUrl: queues.dlqUrl }),
        }),
    },
    // The webhook console: endpoints, deliveries, attempts, replay (local/webhooks/console.ts).
    ...webhookConsoleRoutes(input.deps),
    {
      path: '/sandbox',
      prefix: true,
      answer: async (request) => {
        const answer = await sandbox.handle({
          method: request.method,
          path: request.url.pathname,
          query: request.url.searchParams,
          headers: lowerCase(request.headers),
          body: request.body.toString('utf8'),
          sourceIp: request.sourceIp,
        });
        return answer && { statusCode: answer.statusCode, body: answer.bytes ?? answer.body, headers: answer.headers };
      },
    },
  ];
}

async function dashboard({ deps, repo, metrics, bus, queues }: LocalRoutesInput, request: GatewayRequest) {
  const bucket = parseBucketSeconds(request.url.searchParams.get('bucket'));
  if (!bucket.ok) return jsonAnswer(400, { error: { code: 'VALIDATION_FAILED', message: bucket.message } });
  const figures = await dashboardFigures({
    metrics,
    bus,
    repo,
    deadLetterDepth: queues.deadLetterDepth,
    bucketSeconds: bucket.bucketSeconds,
    latestReconciliations: () => latestReconciliations(deps, businessDateOf(deps.clock.now())),
  });
  return jsonAnswer(200, figures);
}

async function reconcile({ runReconciliation }: LocalRoutesInput, request: GatewayRequest) {
  const run = ManualRun.safeParse(parseJson(request.body));
  if (!run.success) return jsonAnswer(400, { error: { code: 'INVALID_REQUEST', message: z.prettifyError(run.error) } });
  return jsonAnswer(200, await runReconciliation(run.data));
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function lowerCase(headers: GatewayRequest['headers']): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name.toLowerCase(),
      Array.isArray(value) ? value.join(',') : value,
    ]),
  );
}
