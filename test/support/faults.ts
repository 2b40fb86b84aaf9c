import { AsyncLocalStorage } from 'node:async_hooks';
import { sign } from 'node:crypto';
import { InternalServerError, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { InternalException, ThrottlingException } from '@aws-sdk/client-eventbridge';
import { RequestThrottled, SQSServiceException } from '@aws-sdk/client-sqs';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type {
  FinalizeRequestMiddleware,
  HandlerExecutionContext,
  MiddlewareStack,
  Provider,
  RetryStrategyV2,
} from '@smithy/types';
import type { Deps } from '../../src/core/kernel/deps';
import type { Write } from '../../src/core/kernel/ports';
import type { PaymentMethod } from '../../src/domain/payment';
import type { FetchLike } from '../../src/providers/kit/http';
import type { SandboxKeys } from './sweeper-fixtures';
import { platformSigner, seconds, wechatpayHeaders } from './wechat-fixtures';

/**
 * Fault injection for the reliability suite and the soak, without touching product code:
 * AWS SDK middleware that throttles or fails a seeded share of DynamoDB / SQS / EventBridge calls,
 * crash points at the ports (repository, queue, event bus) the core calls, and provider stand-ins
 * that hang, fail, talk garbage or sign nonsense.
 */

/** mulberry32: a small seeded generator, so a run's faults can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Fisher–Yates with a seeded generator. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------
// AWS SDK faults
// ---------------------------------------------------------------------------------------------

export type AwsService = 'dynamodb' | 'sqs' | 'eventbridge';

/**
 * throttle: the service answers a throttling error (ProvisionedThroughputExceededException,
 *   RequestThrottled, ThrottlingException) to one attempt; injected inside the SDK's retry loop,
 *   so the SDK backs off and retries as it does in AWS, and only a streak reaches the product.
 * fail: the whole call fails as the SDK reports it once its retries are spent (a 5xx): the
 *   product sees it at once.
 */
export type AwsFault = 'throttle' | 'fail';

export interface FaultRule {
  service: AwsService;
  fault: AwsFault;
  /** Share of calls hit, 0–1 (for throttle: of attempts). */
  share: number;
  /** Only these commands (SDK names, e.g. 'TransactWriteItemsCommand'); every command when absent. */
  commands?: readonly string[];
}

/** Any SDK v3 client: only its middleware stack is used. */
export interface SdkClient {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- every client's stack has its own input/output types
  middlewareStack: MiddlewareStack<any, any>;
}

function throttleError(service: AwsService, command: string): Error {
  const options = { message: `injected throttle on ${command}`, $metadata: { httpStatusCode: 400 } };
  if (service === 'dynamodb') return new ProvisionedThroughputExceededException(options);
  if (service === 'sqs') return new RequestThrottled(options);
  return new ThrottlingException(options);
}

function failureError(service: AwsService, command: string): Error {
  const options = { message: `injected failure of ${command}`, $metadata: { httpStatusCode: 500, attempts: 3 } };
  if (service === 'dynamodb') return new InternalServerError(options);
  if (service === 'sqs') return new SQSServiceException({ ...options, name: 'InternalError', $fault: 'server' });
  return new InternalException(options);
}

const commandOf = (context: HandlerExecutionContext) => context.commandName ?? 'UnknownCommand';

/** Seeded AWS faults, shared by every client they are attached to. Rules may change while running (an outage window). */
export class AwsFaults {
  rules: FaultRule[] = [];
  /** Off while a test reads the table to check it. */
  enabled = true;
  /** Calls seen, by service. */
  readonly calls: Record<AwsService, number> = { dynamodb: 0, sqs: 0, eventbridge: 0 };
  /** Faults injected, by `service fault command`. */
  readonly injected = new Map<string, number>();
  private readonly random: () => number;

  constructor(readonly seed: number) {
    this.random = seededRandom(seed);
  }

  attach(client: SdkClient, service: AwsService): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (this.enabled) this.calls[service]++;
        this.maybeThrow(service, 'fail', commandOf(context));
        return next(args);
      },
      { step: 'initialize', priority: 'high', name: 'injectedFailures', override: true },
    );
    // Inside the SDK's retry loop: each attempt may be throttled, and the SDK backs off and retries.
    const throttles: FinalizeRequestMiddleware<object, object> = (next, context) => async (args) => {
      this.maybeThrow(service, 'throttle', commandOf(context));
      return next(args);
    };
    client.middlewareStack.addRelativeTo(throttles, {
      relation: 'after',
      toMiddleware: 'retryMiddleware',
      name: 'injectedThrottles',
      override: true,
    });
  }

  /** Faults injected so far, optionally of one service or fault. */
  total(filter: { service?: AwsService; fault?: AwsFault } = {}): number {
    let sum = 0;
    for (const [key, count] of this.injected) {
      const [service, fault] = key.split(' ');
      if ((!filter.service || filter.service === service) && (!filter.fault || filter.fault === fault)) sum += count;
    }
    return sum;
  }

  summary(): Record<string, number> {
    return Object.fromEntries([...this.injected].sort(([a], [b]) => a.localeCompare(b)));
  }

  private maybeThrow(service: AwsService, fault: AwsFault, command: string): void {
    if (!this.enabled) return;
    const rule = this.rules.find(
      (r) => r.service === service && r.fault === fault && (!r.commands || r.commands.includes(command)),
    );
    if (!rule || this.random() >= rule.share) return;
    const key = `${service} ${fault} ${command}`;
    this.injected.set(key, (this.injected.get(key) ?? 0) + 1);
    throw fault === 'throttle' ? throttleError(service, command) : failureError(service, command);
  }
}

/**
 * The SDK's own standard retry strategy (3 attempts, same error classes, same retry quota) with
 * its backoff shortened from ~1 s per throttle to a few milliseconds: the suite's scenarios then
 * take seconds. The soak keeps the SDK's real backoff.
 */
export function quickRetries(client: { config: { retryStrategy: Provider<RetryStrategyV2 | object> } }): void {
  const strategy = new ConfiguredRetryStrategy(3, (attempt) => 5 * attempt);
  client.config.retryStrategy = async () => strategy;
}

/** 20% of every service's calls throttled: the suite's and the soak's standard weather. */
export function throttleEverything(share: number): FaultRule[] {
  return (['dynamodb', 'sqs', 'eventbridge'] as const).map((service) => ({ service, fault: 'throttle', share }));
}

const DYNAMODB_WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'BatchWriteItemCommand',
  'ExecuteStatementCommand',
  'ExecuteTransactionCommand',
  'BatchExecuteStatementCommand',
]);

export interface DynamoWrite {
  command: string;
  /** Partition keys written (`ORDER#…`, `IDEMP#…`). */
  keys: string[];
  /** Refused or failed for good (a condition, a cancelled transaction): nothing of it was written. */
  failed?: boolean;
}

type Attribute = string | { S?: string } | undefined;
const text = (value: Attribute) => (typeof value === 'string' ? value : (value?.S ?? '?'));
type KeyHolder = { Item?: { pk?: Attribute }; Key?: { pk?: Attribute } } | undefined;
const pkOf = (holder: KeyHolder) => text(holder?.Item?.pk ?? holder?.Key?.pk);

function writtenKeys(input: Record<string, unknown>): string[] {
  const transact = input.TransactItems as Array<Record<string, KeyHolder>> | undefined;
  // A ConditionCheck reads (the callback's amount check against the payment): it writes nothing.
  if (transact)
    return transact.filter((item) => !item.ConditionCheck).map((item) => pkOf(item.Put ?? item.Update ?? item.Delete));
  const batch = input.RequestItems as
    Record<string, Array<{ PutRequest?: KeyHolder; DeleteRequest?: KeyHolder }>> | undefined;
  if (batch)
    return Object.values(batch).flatMap((requests) =>
      requests.map((request) => pkOf(request.PutRequest ?? request.DeleteRequest)),
    );
  return [pkOf(input as KeyHolder)];
}

/**
 * Every DynamoDB write command sent through a client (each call once, however often the SDK
 * retried it), and, through `during`, the writes of one piece of work alone while the rest of
 * the system (the worker, the sweeper) keeps writing beside it.
 */
export class DynamoWriteLog {
  readonly writes: DynamoWrite[] = [];
  private readonly scope = new AsyncLocalStorage<DynamoWrite[]>();

  attach(client: SdkClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = commandOf(context);
        if (DYNAMODB_WRITES.has(command)) {
          const write: DynamoWrite = { command, keys: writtenKeys(args.input as Record<string, unknown>) };
          this.writes.push(write);
          this.scope.getStore()?.push(write);
          try {
            return await next(args);
          } catch (error) {
            write.failed = true;
            throw error;
          }
        }
        return next(args);
      },
      // Ahead of the injected failures: a write the product attempted counts even when it fails.
      { step: 'initialize', priority: 'high', name: 'dynamoWriteLog', override: true },
    );
  }

  /** Runs `work` and returns what it returned with the writes it (and only it) sent. */
  async during<T>(work: () => Promise<T>): Promise<{ result: T; writes: DynamoWrite[] }> {
    const writes: DynamoWrite[] = [];
    const result = await this.scope.run(writes, work);
    return { result, writes };
  }
}

// ---------------------------------------------------------------------------------------------
// Crash points
// ---------------------------------------------------------------------------------------------

export type FunctionName = 'api' | 'callback' | 'worker' | 'sweeper';
type Port = 'repo' | 'queue' | 'events';

interface CrashPointSpec {
  fn: FunctionName;
  description: string;
  /** The port call right after which the process dies; 'return' = after the handler returned. */
  after: { port: Port; method: string; when?: (args: unknown[]) => boolean } | 'return';
}

const commitHas = (test: (write: Write) => boolean) => (args: unknown[]) => (args[0] as readonly Write[]).some(test);

/**
 * Where a process can die with work half done. Each is injected at the port the core calls (the
 * commit, the enqueue) or, for the worker, after its handler returned and before the
 * event source deleted the message.
 */
export const CRASH_POINTS = {
  'api:after-commit': {
    fn: 'api',
    description: 'create-order committed its transaction; the process died before answering',
    after: { port: 'repo', method: 'commit', when: commitHas((write) => write.kind === 'createOrder') },
  },
  'callback:after-archive': {
    fn: 'callback',
    description: 'the callback was archived; the process died before enqueueing it',
    after: { port: 'repo', method: 'commit', when: commitHas((write) => write.kind === 'archiveCallback') },
  },
  'callback:after-enqueue': {
    fn: 'callback',
    description: 'SQS has the notification; the process died before acknowledging the provider',
    after: { port: 'queue', method: 'enqueue' },
  },
  'worker:after-commit': {
    fn: 'worker',
    description:
      'the worker committed dedupe + payment + order with their outbox entry; it died before the queue delete',
    after: { port: 'repo', method: 'commit', when: commitHas((write) => write.kind === 'recordNotification') },
  },
  'worker:before-delete': {
    fn: 'worker',
    description: 'the worker finished; it died before the event source deleted the message',
    after: 'return',
  },
  'sweeper:after-commit': {
    fn: 'sweeper',
    description: 'the sweeper committed an expiry with its outbox entry; it died before going on',
    after: {
      port: 'repo',
      method: 'commit',
      when: commitHas((write) => write.kind === 'updatePayment' && write.after.status === 'expired'),
    },
  },
} satisfies Record<string, CrashPointSpec>;

export type CrashPoint = keyof typeof CRASH_POINTS;
export const ALL_CRASH_POINTS = Object.keys(CRASH_POINTS) as CrashPoint[];

/** What a caller sees of a process that died: no answer at all. */
export class ProcessCrash extends Error {
  constructor(readonly point: CrashPoint) {
    super(`process died at ${point}`);
    this.name = 'ProcessCrash';
  }
}

/** An armed crash: the next `left` passes through `point` die (only for `provider`'s work, when given). */
interface ArmedCrash {
  point: CrashPoint;
  provider?: PaymentMethod;
  left: number;
}

/** Whether a port call's arguments are about `provider`'s work (a write, notification or event naming it). */
function mentions(value: unknown, provider: PaymentMethod, depth = 0): boolean {
  if (depth > 4 || value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  if (record.provider === provider || record.method === provider) return true;
  return Object.values(record).some((inner) => mentions(inner, provider, depth + 1));
}

/**
 * Arms crash points. Every function invocation asks it for the deps to run on; an armed point of
 * that function turns them mortal: right after the matching port call the process "dies", and
 * every later port call of that invocation throws too, as nothing runs after a crash.
 */
export class CrashSwitch {
  readonly crashes = new Map<CrashPoint, number>();
  private armed: ArmedCrash[] = [];
  private random?: { share: number; next: () => number; points: readonly CrashPoint[] };

  /** The next `times` passes through `point` die; with `provider`, only passes doing that provider's work. */
  arm(point: CrashPoint, { times = 1, provider }: { times?: number; provider?: PaymentMethod } = {}): void {
    this.armed.push({ point, provider, left: times });
  }

  /** Each invocation dies at one of `points` with probability `share` (the soak). */
  armRandomly(share: number, seed: number, points: readonly CrashPoint[] = ALL_CRASH_POINTS): void {
    this.random = { share, next: seededRandom(seed), points };
  }

  disarm(): void {
    this.armed = [];
    this.random = undefined;
  }

  total(): number {
    return [...this.crashes.values()].reduce((sum, count) => sum + count, 0);
  }

  /** `providers`: whose work the invocation is known to do (a worker's batch), for crashes at 'return'. */
  invocation(fn: FunctionName, deps: Deps, providers: readonly PaymentMethod[] = []): Invocation {
    return new Invocation(deps, this.crashesFor(fn), providers, (crash) => this.consume(crash));
  }

  private crashesFor(fn: FunctionName): ArmedCrash[] {
    const armed = this.armed.filter((crash) => CRASH_POINTS[crash.point].fn === fn && crash.left > 0);
    if (armed.length > 0 || !this.random) return armed;
    const own = this.random.points.filter((point) => CRASH_POINTS[point].fn === fn);
    if (own.length === 0 || this.random.next() >= this.random.share) return [];
    return [{ point: own[Math.floor(this.random.next() * own.length)]!, left: 1 }];
  }

  /** Claims one crash (false when another invocation took the last one meanwhile). */
  private consume(crash: ArmedCrash): boolean {
    if (crash.left <= 0) return false;
    crash.left--;
    this.crashes.set(crash.point, (this.crashes.get(crash.point) ?? 0) + 1);
    return true;
  }
}

/** One run of a function, on deps that die at its crash point (if any was armed for it). */
export class Invocation {
  dead?: CrashPoint;
  readonly deps: Deps;

  constructor(
    deps: Deps,
    private readonly crashes: readonly ArmedCrash[],
    private readonly providers: readonly PaymentMethod[],
    private readonly consume: (crash: ArmedCrash) => boolean,
  ) {
    this.deps =
      crashes.length === 0
        ? deps
        : {
            ...deps,
            repo: this.guard(deps.repo, 'repo'),
            queue: this.guard(deps.queue, 'queue'),
            events: this.guard(deps.events, 'events'),
          };
  }

  /** Called once the handler returned: dies now at a 'return' crash point. */
  finish(): void {
    const crash = this.crashes.find(
      (candidate) =>
        CRASH_POINTS[candidate.point].after === 'return' &&
        (!candidate.provider || this.providers.includes(candidate.provider)),
    );
    if (!this.dead && crash && this.consume(crash)) this.dead = crash.point;
  }

  private matching(port: Port, method: string, args: unknown[]): ArmedCrash | undefined {
    return this.crashes.find((crash) => {
      const after = CRASH_POINTS[crash.point].after;
      if (after === 'return' || after.port !== port || after.method !== method) return false;
      if ('when' in after && !after.when(args)) return false;
      return !crash.provider || mentions(args, crash.provider);
    });
  }

  private guard<T extends object>(target: T, port: Port): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (this.dead) throw new ProcessCrash(this.dead);
          const result: unknown = await value.apply(object, args);
          // Another call of this invocation died while this one was in flight: nothing after it runs.
          if (this.dead) throw new ProcessCrash(this.dead);
          const crash = this.matching(port, String(property), args);
          if (crash && this.consume(crash)) {
            this.dead = crash.point;
            throw new ProcessCrash(crash.point);
          }
          return result;
        };
      },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Provider stand-ins
// ---------------------------------------------------------------------------------------------

/**
 * up: the provider's sandbox answers (real signatures both ways).
 * hang: the call is never answered (released only if the caller aborts it, or by `releaseHung`).
 * unavailable: HTTP 503, unsigned. garbage: HTTP 200 with an unsigned HTML error page.
 * signed-nonsense: HTTP 200, correctly signed with the provider's real key, meaning nothing.
 */
export type ProviderBehaviour = 'up' | 'hang' | 'unavailable' | 'garbage' | 'signed-nonsense';

export interface ProviderStandIn {
  behaviour: ProviderBehaviour;
  /** Calls received, by the behaviour that answered them. */
  readonly calls: Record<ProviderBehaviour, number>;
  /** Every request the merchant module sent, oldest first. */
  readonly requests: Array<{ url: string; method: string; body: string }>;
  /** Calls hanging right now. */
  hanging(): number;
  /** Ends every hanging call as a reset connection (the caller had no timeout of its own). */
  releaseHung(): void;
  /** What the merchant module calls. */
  fetch: FetchLike;
}

type FetchInit = Parameters<FetchLike>[1] & { signal?: AbortSignal };
type FetchAnswer = Awaited<ReturnType<FetchLike>>;

const answer = (status: number, body: string, headers: Record<string, string> = {}): FetchAnswer => ({
  status,
  headers: new Headers(headers),
  text: async () => body,
});

/** A correctly signed answer whose content means nothing to the merchant module. */
function signedNonsense(method: 'wechat' | 'alipay', keys: SandboxKeys, init: FetchInit, now: Date): FetchAnswer {
  if (method === 'wechat') {
    const body = JSON.stringify({ code_url: 42, trade_state: 'MAYBE', out_trade_no: 'someone-else', amount: 'lots' });
    return answer(200, body, {
      'content-type': 'application/json',
      ...wechatpayHeaders(platformSigner(keys.wechat.sandbox), body, seconds(now)),
    });
  }
  const apiMethod = new URLSearchParams(init.body ?? '').get('method') ?? 'alipay.trade.query';
  const node = JSON.stringify({
    code: '10000',
    msg: 'Success',
    out_trade_no: 42,
    trade_status: ['TRADE_MAYBE'],
    total_amount: 'lots',
  });
  const signature = sign('sha256', Buffer.from(node, 'utf8'), keys.alipay.sandbox.alipayPrivateKey).toString('base64');
  return answer(200, `{"${apiMethod.replaceAll('.', '_')}_response":${node},"sign":"${signature}"}`, {
    'content-type': 'application/json;charset=utf-8',
  });
}

export type ProviderOperation = 'create' | 'query' | 'close';

/** What a request to a provider's API asked for (WeChat: by path and method; Alipay: its `method` parameter). */
export function operationOf(request: { url: string; method: string; body: string }): ProviderOperation {
  const alipayMethod = new URLSearchParams(request.body).get('method');
  if (request.url.endsWith('/close') || alipayMethod === 'alipay.trade.close') return 'close';
  if (request.method === 'GET' || alipayMethod === 'alipay.trade.query') return 'query';
  return 'create';
}

/**
 * A provider's API as the merchant module reaches it: `upstream` (the sandbox simulator, wired
 * in process) while up, or one of the failure behaviours. `autoReleaseMs` bounds a hang for runs
 * that must end (the soak): the connection is then reset, as a load balancer would eventually do.
 */
export function providerStandIn(
  method: 'wechat' | 'alipay',
  keys: SandboxKeys,
  upstream: FetchLike,
  now: () => Date,
  autoReleaseMs?: number,
): ProviderStandIn {
  const hung = new Set<(error: Error) => void>();
  const standIn: ProviderStandIn = {
    behaviour: 'up',
    calls: { up: 0, hang: 0, unavailable: 0, garbage: 0, 'signed-nonsense': 0 },
    requests: [],
    hanging: () => hung.size,
    releaseHung() {
      for (const reset of [...hung]) reset(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    },
    fetch: async (input, init = {}) => {
      const behaviour = standIn.behaviour;
      standIn.calls[behaviour]++;
      standIn.requests.push({ url: input, method: init.method ?? 'GET', body: init.body ?? '' });
      switch (behaviour) {
        case 'up':
          return upstream(input, init);
        case 'unavailable':
          return answer(503, 'Service Unavailable', { 'content-type': 'text/plain' });
        case 'garbage':
          return answer(200, '<html><body><h1>502 Bad Gateway</h1>\u0000\u00ff</body></html>', {
            'content-type': 'text/html',
          });
        case 'signed-nonsense':
          return signedNonsense(method, keys, init, now());
        case 'hang':
          return new Promise<FetchAnswer>((_resolve, reject) => {
            const signal = (init as FetchInit).signal;
            let timer: NodeJS.Timeout | undefined;
            const end = (error: Error) => {
              hung.delete(end);
              if (timer) clearTimeout(timer);
              reject(error);
            };
            if (signal?.aborted) return end(signal.reason as Error);
            signal?.addEventListener('abort', () => end(signal.reason as Error), { once: true });
            hung.add(end);
            if (autoReleaseMs !== undefined)
              timer = setTimeout(
                () => end(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })),
                autoReleaseMs,
              );
          });
      }
    },
  };
  return standIn;
}
