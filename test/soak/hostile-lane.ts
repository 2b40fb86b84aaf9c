import fc from 'fast-check';
import type { APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { makeHandler as makeCallbackHandler } from '../../functions/payment-callback/handler';
import { dynamoClient, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-emulator';
import { sqsClient, sqsNotificationQueue } from '../../src/aws/sqs-queue';
import { DynamoRepository } from '../../src/persistence/dynamo-repository';
import type { Deps } from '../../src/core/kernel/deps';
import { PAYMENT_METHODS, type PaymentMethod } from '../../src/domain/payment';
import type { HttpEvent } from '../../src/http/route';
import { localWiring } from '../../src/runtime/wiring';
import { CUSTOMER_ROUTES, type CustomerRoute } from '../support/api-fixtures';
import { callbackEvent } from '../support/callback-fixtures';
import { type DynamoWrite, DynamoWriteLog } from '../support/faults';
import {
  hostileApiRequest,
  hostileCallback,
  type HostileApiRequest,
  type HostileCallback,
  type KnownData,
} from '../support/hostile';
import { httpEvent, lambdaContext } from '../support/http';
import type { Rig } from '../support/reliability-rig';

/**
 * Hostile traffic during the soak, on a lane of its own: the same handler modules, table and
 * queue, but DynamoDB and SQS clients without injected faults, so that every 5xx is the code's and every write is
 * attributed exactly. The contract checked is the property tests' one.
 */

const INPUT_REFUSALS = new Set([400, 401, 403, 413, 415]);
const BUSINESS_REFUSALS = new Set([404, 409]);
const ROUTES = Object.keys(CUSTOMER_ROUTES) as CustomerRoute[];

type Handler = (event: HttpEvent, context: Context) => Promise<APIGatewayProxyResultV2>;
type Reply = { statusCode?: number; body?: string };

export interface HostileFigures {
  tried: number;
  api: number;
  callbacks: number;
  /** Answers by `api|callback status`. */
  answers: Record<string, number>;
  /** Contract breaches (at most 20 kept, all counted). */
  violations: number;
  examples: string[];
}

export class HostileLane {
  readonly figures: HostileFigures = { tried: 0, api: 0, callbacks: 0, answers: {}, violations: 0, examples: [] };
  private readonly writes = new DynamoWriteLog();
  private readonly deps: Deps;
  private readonly handlers: Map<string, Handler>;

  constructor(
    private readonly rig: Rig,
    dynamoEndpoint: string,
  ) {
    const client = dynamoClient(dynamoEndpoint);
    this.writes.attach(client);
    const queueClient = sqsClient({
      endpoint: rig.queues.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    this.deps = {
      ...rig.deps,
      repo: new DynamoRepository({ client, tableName: rig.env.tableName }),
      queue: sqsNotificationQueue(queueClient, rig.queues.queueUrl),
    };
    this.handlers = new Map(
      Object.entries(CUSTOMER_ROUTES).map(([route, make]) => [
        route,
        make(localWiring(async () => this.deps)) as Handler,
      ]),
    );
  }

  /** `count` hostile API requests, and `count` hostile callbacks to each genuine payment's provider, drawn with `seed`. */
  async send(
    count: number,
    seed: number,
    known: KnownData,
    genuine: ReadonlyArray<{ method: PaymentMethod; paymentId: string }>,
  ): Promise<void> {
    const requests = fc.sample(hostileApiRequest(ROUTES, known), { numRuns: count, seed });
    const callbacks = genuine.flatMap(({ method, paymentId }) =>
      fc.sample(
        hostileCallback(method, this.rig.keys, () => this.rig.callbackFor(method, paymentId), this.rig.clock.now),
        { numRuns: count, seed },
      ),
    );
    await Promise.all([
      ...requests.map((request) => this.api(request)),
      ...callbacks.map((hostile) => this.callback(hostile)),
    ]);
  }

  private async api(request: HostileApiRequest): Promise<void> {
    const [method = '', template = ''] = request.route.split(' ');
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent((request.params[name] ?? '').replace(/[\ud800-\udfff]/g, '\ufffd')),
    );
    const event = {
      ...httpEvent(method, path, {
        customerId: request.customerId,
        scope: request.scope,
        rawBody: request.rawBody,
        headers: request.headers,
        pathParameters: request.params,
      }),
      isBase64Encoded: request.rawBody !== undefined && request.isBase64Encoded,
    };
    const { result, writes } = await this.writes.during(
      () => this.handlers.get(request.route)!(event, lambdaContext) as Promise<Reply>,
    );
    this.figures.api++;
    this.check(`api ${request.route}`, result, writes, (status, body) => {
      if (status < 400) return undefined;
      const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      if (typeof error?.code !== 'string' || typeof error.message !== 'string')
        return 'not the {error:{code,message}} shape';
      if (INPUT_REFUSALS.has(status) && writes.length > 0)
        return `refused with ${status} yet wrote ${writes.flatMap((w) => w.keys).join(', ')}`;
      // A refusal decided by a transaction's condition (too many pending orders, out of stock) attempted it and wrote nothing.
      if (
        BUSINESS_REFUSALS.has(status) &&
        writes.some((w) => !w.failed && w.keys.some((key) => !key.startsWith('IDEMP#')))
      )
        return `refused with ${status} yet wrote beyond its idempotency record`;
      return undefined;
    });
  }

  private async callback({ provider, callback, kind }: HostileCallback): Promise<void> {
    const { result, writes } = await this.writes.during(() =>
      makeCallbackHandler(localWiring(async () => this.deps))(callbackEvent(provider, callback), lambdaContext),
    );
    this.figures.callbacks++;
    this.check(`callback ${provider.slice(0, 12)} ${kind}`, result, writes, (status, body) => {
      if (!(PAYMENT_METHODS as readonly string[]).includes(provider))
        return status === 404 && writes.length === 0 ? undefined : `unknown provider answered ${status}`;
      const acknowledged = this.rig.providers[provider as PaymentMethod].simulator.isAcknowledged(
        status,
        typeof body === 'string' ? body : JSON.stringify(body ?? ''),
      );
      if (acknowledged)
        return kind === 'mutated' && writes.every((w) => w.keys.every((key) => key.startsWith('CALLBACK#')))
          ? undefined
          : `${kind} acknowledged`;
      return status === 400 && writes.length === 0
        ? undefined
        : `refused with ${status} after ${writes.length} write(s)`;
    });
  }

  private check(
    what: string,
    reply: Reply,
    writes: DynamoWrite[],
    contract: (status: number, body: unknown) => string | undefined,
  ): void {
    const status = reply.statusCode ?? 0;
    this.figures.tried++;
    const key = `${what.split(' ')[0]} ${status}`;
    this.figures.answers[key] = (this.figures.answers[key] ?? 0) + 1;
    let body: unknown = reply.body;
    try {
      body = JSON.parse(reply.body ?? '');
    } catch {
      /* a provider's plain-text answer */
    }
    const breach = status >= 500 ? `answered ${status}` : contract(status, body);
    if (!breach) return;
    this.figures.violations++;
    if (this.figures.examples.length < 20) this.figures.examples.push(`${what}: ${breach}`);
  }
}
