import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startDynamoEmulator } from '../../local/dynamodb-emulator';
import { PAYMENT_METHODS, type PaymentMethod } from '../../src/domain/payment';
import { ALICE } from '../support/api-fixtures';
import { type ProviderBehaviour, seededRandom, throttleEverything } from '../support/faults';
import type { KnownData } from '../support/hostile';
import { describeViolations, type InvariantReport } from '../support/invariants';
import { RIG_CUSTOMER, RIG_PRODUCTS, Rig } from '../support/reliability-rig';
import { sandboxKeys } from '../support/sweeper-fixtures';
import { HostileLane } from './hostile-lane';

/**
 * `npm run soak`: thousands of orders through the whole service on real parts (DynamoDB Local,
 * the SQS stand-in, every Lambda handler), paid, failed, cancelled, abandoned, duplicated and
 * paid late across the three providers, with a fifth of all AWS calls throttled (the SDK's real
 * backoff), processes dying at random crash points, provider outages and hostile traffic. Time
 * is virtual (a minute per wave, the sweeper once a wave); the run is bounded in orders and in
 * wall time and stops by itself. It prints a summary and writes it as JSON; it exits 1 when an
 * invariant or the hostile-input contract was violated.
 *
 * SOAK_ORDERS (2000), SOAK_MAX_SECONDS (600), SOAK_SEED (1), SOAK_FAULT_SHARE (0.2),
 * SOAK_CRASH_SHARE (0.03), SOAK_ORDERS_PER_MINUTE (100), SOAK_HOSTILE_PER_MINUTE (6),
 * SOAK_OUT (test-results/soak/summary.json).
 */

const number = (name: string, fallback: number) =>
  process.env[name] === undefined ? fallback : Number(process.env[name]);
const CONFIG = {
  orders: number('SOAK_ORDERS', 2_000),
  maxSeconds: number('SOAK_MAX_SECONDS', 600),
  seed: number('SOAK_SEED', 1),
  faultShare: number('SOAK_FAULT_SHARE', 0.2),
  crashShare: number('SOAK_CRASH_SHARE', 0.03),
  ordersPerMinute: number('SOAK_ORDERS_PER_MINUTE', 100),
  hostilePerMinute: number('SOAK_HOSTILE_PER_MINUTE', 6),
  out: process.env.SOAK_OUT ?? path.join('test-results', 'soak', 'summary.json'),
};
/** After the last order, virtual minutes for everything to expire, be queried and its events published. */
const DRAIN_MINUTES = 40;
/** Wall time allowed past maxSeconds for the drain and the final check. */
const DRAIN_GRACE_SECONDS = 180;

/** What happens to an order, with its weight in the mix. */
const STORIES = {
  paid: 25,
  'paid-duplicated': 15,
  'lost-callback': 10,
  failed: 8,
  'cancel-order': 6,
  'cancel-payment': 5,
  abandoned: 12,
  'never-started': 4,
  'late-success': 6,
  repay: 9,
} as const;
type Story = keyof typeof STORIES;

/** Provider outages, by minute within each 40-minute cycle. */
const OUTAGES: ReadonlyArray<{
  from: number;
  to: number;
  provider: 'wechat' | 'alipay';
  behaviour: ProviderBehaviour;
}> = [
  { from: 6, to: 10, provider: 'wechat', behaviour: 'unavailable' },
  { from: 14, to: 17, provider: 'alipay', behaviour: 'signed-nonsense' },
  { from: 22, to: 24, provider: 'wechat', behaviour: 'hang' },
  { from: 30, to: 33, provider: 'alipay', behaviour: 'garbage' },
];

interface Order {
  method: PaymentMethod;
  story: Story;
  orderId: string;
  paymentId: string;
}

class Soak {
  readonly random = seededRandom(CONFIG.seed);
  readonly stories: Record<string, number> = {};
  readonly errors: string[] = [];
  storyErrors = 0;
  callbackCopies = 0;
  created = 0;
  minute = 0;
  stoppedBy: 'count' | 'time' = 'count';
  private readonly agenda = new Map<number, Array<() => Promise<void>>>();
  private readonly known: KnownData & { orderIds: string[]; paymentIds: string[] } = {
    customers: [RIG_CUSTOMER, ALICE],
    orderIds: [],
    paymentIds: [],
    skus: RIG_PRODUCTS.map((p) => p.sku),
  };
  private genuine: Array<{ method: PaymentMethod; paymentId: string }> = [];

  constructor(
    readonly rig: Rig,
    readonly hostile: HostileLane,
    readonly startedAt: number,
    readonly deadline: number,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private story(): Story {
    const total = Object.values(STORIES).reduce((sum, weight) => sum + weight, 0);
    let roll = this.random() * total;
    for (const [story, weight] of Object.entries(STORIES)) if ((roll -= weight) < 0) return story as Story;
    return 'paid';
  }

  /** Runs `action` `minutes` from now (virtual), or now when 0. */
  private later(minutes: number, action: () => Promise<void>): void {
    const at = this.minute + minutes;
    this.agenda.set(at, [...(this.agenda.get(at) ?? []), action]);
  }

  private async safely(what: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.storyErrors++;
      if (this.errors.length < 20) this.errors.push(`${what}: ${String(error).slice(0, 300)}`);
    }
  }

  /** The customer starts the payment; a provider refusing (down) is retried a few minutes later, at most three times. */
  private async start(order: Order, tries = 3): Promise<boolean> {
    const started = await this.rig.startPayment(order.paymentId, order.method, 2);
    if (started.statusCode === 200) return true;
    if (started.statusCode === 502 && tries > 1)
      this.later(3, () => this.safely(`restart ${order.story}`, () => this.startThenTell(order, tries - 1)));
    return false;
  }

  private async startThenTell(order: Order, tries = 3): Promise<void> {
    if (await this.start(order, tries)) await this.afterStart(order);
  }

  /** The provider tells us (k copies now, some again later: providers retry and duplicate). */
  private async deliver(order: Order, copies = 1): Promise<void> {
    this.callbackCopies += copies;
    await Promise.all(Array.from({ length: copies }, () => this.rig.deliver(order.method, order.paymentId)));
  }

  private async newOrder(): Promise<void> {
    const method = this.pick(PAYMENT_METHODS);
    const story = this.story();
    const items = [{ sku: this.pick(this.known.skus), quantity: 1 + Math.floor(this.random() * 3) }];
    const placed = await this.rig.placeOrder(method, items);
    const order: Order = { method, story, orderId: placed.orderId, paymentId: placed.paymentId };
    this.created++;
    this.stories[story] = (this.stories[story] ?? 0) + 1;
    // Hostile requests name real orders too, but only ones no story acts on any more.
    if ((story === 'never-started' || story === 'abandoned') && this.known.orderIds.length < 50) {
      this.known.orderIds.push(order.orderId);
      this.known.paymentIds.push(order.paymentId);
    }
    if (story !== 'never-started') await this.startThenTell(order);
  }

  /** What happens once the checkout exists at the provider. */
  private async afterStart(order: Order): Promise<void> {
    const { method, paymentId, orderId } = order;
    switch (order.story) {
      case 'paid':
        this.rig.decide(method, paymentId, 'paid');
        return this.deliver(order);
      case 'paid-duplicated':
        this.rig.decide(method, paymentId, 'paid');
        this.later(1 + Math.floor(this.random() * 20), () => this.safely('late duplicate', () => this.deliver(order)));
        return this.deliver(order, 2 + Math.floor(this.random() * 4));
      case 'lost-callback':
        // WeChat and Alipay: the sweeper's query finds it. The bank (no query): its retry comes after expiry.
        this.rig.decide(method, paymentId, 'paid');
        if (method === 'bank') this.later(35, () => this.safely('bank retry', () => this.deliver(order)));
        return;
      case 'failed':
        this.rig.decide(method, paymentId, 'failed');
        return this.deliver(order);
      case 'cancel-order':
        await this.rig.call('POST /api/orders/{orderId}/cancel', { params: { orderId } }, 3);
        return;
      case 'cancel-payment':
        await this.rig.call('POST /api/payments/{paymentId}/cancel', { params: { paymentId } }, 3);
        return;
      case 'late-success':
        // Paid at the last second: the callback races the sweeper's expiry.
        this.later(30, () =>
          this.safely('late success', async () => {
            this.rig.decide(method, paymentId, 'paid');
            await this.deliver(order);
          }),
        );
        return;
      case 'repay':
        this.later(32, () => this.safely('repay', () => this.repay(order, 5)));
        return;
      case 'abandoned':
      case 'never-started':
        return;
    }
  }

  /** After the first payment expired: a new payment for the order, paid. Retried while the old one is still open. */
  private async repay(order: Order, tries: number): Promise<void> {
    const added = await this.rig.call<{ paymentId: string }>(
      'POST /api/orders/{orderId}/payments',
      {
        params: { orderId: order.orderId },
        body: { paymentMethod: order.method },
        idempotencyKey: `repay-${order.orderId}-${tries}`,
      },
      3,
    );
    if (added.statusCode !== 201) {
      if (tries > 1) this.later(2, () => this.safely('repay again', () => this.repay(order, tries - 1)));
      return;
    }
    await this.startThenTell({ ...order, story: 'paid', paymentId: added.body.paymentId });
  }

  private outageAt(minute: number): void {
    const cycle = minute % 40;
    for (const provider of ['wechat', 'alipay'] as const) {
      const outage = OUTAGES.find((o) => o.provider === provider && cycle >= o.from && cycle < o.to);
      const standIn = this.rig.providers[provider].standIn!;
      standIn.behaviour = outage?.behaviour ?? 'up';
    }
  }

  /** One virtual minute: new orders, what is due, hostile traffic, one sweeper run (sometimes two at once). */
  private async wave(creating: boolean): Promise<void> {
    this.outageAt(this.minute);
    const due = this.agenda.get(this.minute) ?? [];
    this.agenda.delete(this.minute);
    const fresh = creating ? Math.min(CONFIG.ordersPerMinute, CONFIG.orders - this.created) : 0;
    await Promise.all([
      ...Array.from({ length: fresh }, () => this.safely('new order', () => this.newOrder())),
      ...due.map((action) => action()),
      this.genuine.length > 0 && this.known.orderIds.length > 0
        ? this.safely('hostile', () =>
            this.hostile.send(CONFIG.hostilePerMinute, CONFIG.seed * 10_000 + this.minute, this.known, this.genuine),
          )
        : undefined,
    ]);
    await (this.random() < 0.2 ? Promise.all([this.rig.sweep(), this.rig.sweep()]) : this.rig.sweep());
    // The outbox publisher reads the table's stream all along, in the same weather (EventBridge throttled too).
    await this.rig.env.publishEvents();
    this.rig.clock.advance(60_000);
    this.minute++;
  }

  /** One paid order per provider before the load: the genuine callbacks the hostile lane edits. */
  private async genuineTargets(): Promise<void> {
    for (const method of PAYMENT_METHODS) {
      const { paymentId } = await this.rig.startedOrder(method);
      this.rig.decide(method, paymentId, 'paid', { notificationId: `genuine-${paymentId}` });
      await this.rig.deliver(method, paymentId);
      this.genuine.push({ method, paymentId });
    }
  }

  async run(): Promise<void> {
    await this.genuineTargets();
    this.rig.faults.rules = throttleEverything(CONFIG.faultShare);
    this.rig.crash.armRandomly(CONFIG.crashShare, CONFIG.seed);
    while (this.created < CONFIG.orders) {
      if (Date.now() > this.deadline) {
        this.stoppedBy = 'time';
        break;
      }
      await this.wave(true);
      if (this.minute % 10 === 0)
        log(
          `minute ${this.minute} (${Math.round((Date.now() - this.startedAt) / 1000)} s): ${this.created} orders, ${this.rig.faults.total()} AWS faults, ${this.rig.crash.total()} crashes, ${this.hostile.figures.tried} hostile inputs`,
        );
    }
    const lastOrderMinute = this.minute;
    while (
      (this.minute < lastOrderMinute + DRAIN_MINUTES || this.agenda.size > 0) &&
      Date.now() < this.deadline + DRAIN_GRACE_SECONDS * 1000
    )
      await this.wave(false);
  }

  /** The weather clears: no more faults or crashes, providers up; the system settles and is checked. */
  async finish(): Promise<{ report: InvariantReport; deadLettered: number }> {
    this.rig.crash.disarm();
    this.rig.faults.rules = [];
    for (const world of Object.values(this.rig.providers)) {
      if (world.standIn) world.standIn.behaviour = 'up';
      world.standIn?.releaseHung();
    }
    await this.rig.settle(5);
    const deadLettered = await this.rig.redriveDeadLetters();
    await this.rig.settle(3);
    return { report: await this.rig.check(), deadLettered };
  }
}

function log(line: string): void {
  console.log(`[soak] ${line}`);
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  log(
    `${CONFIG.orders} orders, seed ${CONFIG.seed}, ${CONFIG.faultShare * 100}% AWS calls throttled, ${CONFIG.crashShare * 100}% invocations crashing, at most ${CONFIG.maxSeconds} s`,
  );
  const emulator = await startDynamoEmulator();
  const rig = await Rig.start({
    dynamoEndpoint: emulator.endpoint,
    keys: sandboxKeys(),
    seed: CONFIG.seed,
    realBackoff: true,
    hangReleaseMs: 2_000,
  });
  // One customer places every order: the per-customer pending limit (20 by default) guards a shop, it would cap the load.
  rig.deps.orders = { ...rig.deps.orders, maxPendingPerCustomer: CONFIG.orders };
  try {
    const soak = new Soak(
      rig,
      new HostileLane(rig, emulator.endpoint),
      startedAt,
      startedAt + CONFIG.maxSeconds * 1000,
    );
    await soak.run();
    const { report, deadLettered } = await soak.finish();
    const summary = await summarize(soak, report, deadLettered, startedAt);
    mkdirSync(path.dirname(CONFIG.out), { recursive: true });
    writeFileSync(CONFIG.out, `${JSON.stringify(summary, null, 2)}\n`);
    printSummary(summary, report);
    log(`summary written to ${CONFIG.out}`);
    return report.violations.length === 0 && soak.hostile.figures.violations === 0 ? 0 : 1;
  } finally {
    await rig.stop();
    await emulator.stop();
  }
}

async function summarize(soak: Soak, report: InvariantReport, deadLettered: number, startedAt: number) {
  const { rig } = soak;
  rig.faults.enabled = false;
  const items = await rig.env.scan();
  const tally = (kind: string, field: string) => {
    const counts: Record<string, number> = {};
    for (const item of items.filter((i) => i.kind === kind))
      counts[String(item[field])] = (counts[String(item[field])] ?? 0) + 1;
    return counts;
  };
  const payments = items.filter((item) => item.kind === 'payment');
  const providerFailures: Record<string, number> = {};
  for (const world of Object.values(rig.providers)) {
    for (const [behaviour, count] of Object.entries(world.standIn?.calls ?? {}))
      if (behaviour !== 'up' && count > 0) providerFailures[`${world.method} ${behaviour}`] = count;
  }
  const wallSeconds = Math.round((Date.now() - startedAt) / 1000);
  return {
    config: CONFIG,
    at: new Date().toISOString(),
    wallSeconds,
    stoppedBy: soak.stoppedBy,
    load: {
      orders: report.orders,
      payments: report.payments,
      storyMix: soak.stories,
      apiRequests: rig.apiRequests,
      callbackRequests: rig.callbacksReceived,
      callbackCopiesSent: soak.callbackCopies,
      sweeperRuns: rig.sweeps,
      virtualMinutes: soak.minute,
      ordersPerWallSecond: Math.round((soak.created / wallSeconds) * 10) / 10,
    },
    faults: {
      awsCalls: { ...rig.faults.calls },
      awsFaultsInjected: rig.faults.total(),
      awsFaultsByCall: rig.faults.summary(),
      crashes: Object.fromEntries(rig.crash.crashes),
      providerFailures,
      workerInvocationsFailed: rig.workerErrors,
      deadLetteredThenRedriven: deadLettered,
      storyErrors: soak.storyErrors,
      storyErrorExamples: soak.errors,
    },
    hostile: soak.hostile.figures,
    outcomes: {
      orders: tally('order', 'status'),
      payments: tally('payment', 'status'),
      latePayments: payments.filter((p) => p.latePayment).length,
      refundRequired: payments.filter((p) => p.refundRequired).length,
    },
    invariants: {
      transitions: report.transitions,
      distinctEvents: report.distinctEvents,
      republishedEvents: report.republishedEvents,
      violations: report.violations.length,
      violationExamples: report.violations.slice(0, 20),
    },
  };
}

function printSummary(summary: Awaited<ReturnType<typeof summarize>>, report: InvariantReport): void {
  const { load, faults, hostile, invariants } = summary;
  log(`done in ${summary.wallSeconds} s (stopped by ${summary.stoppedBy}), ${load.virtualMinutes} virtual minutes`);
  log(
    `load held: ${load.orders} orders, ${load.payments} payments, ${load.apiRequests} API requests, ${load.callbackRequests} callback requests, ${load.sweeperRuns} sweeper runs`,
  );
  log(
    `faults injected: ${faults.awsFaultsInjected} AWS (of ${Object.values(faults.awsCalls).reduce((a, b) => a + b, 0)} calls), ${Object.values(faults.crashes).reduce((a, b) => a + b, 0)} crashes, ${Object.values(faults.providerFailures).reduce((a, b) => a + b, 0)} provider failures, ${faults.deadLetteredThenRedriven} dead-lettered`,
  );
  log(
    `hostile inputs tried: ${hostile.tried} (${hostile.api} API, ${hostile.callbacks} callbacks), contract violations: ${hostile.violations}`,
  );
  log(
    `invariant violations: ${invariants.violations}${invariants.violations ? `\n${describeViolations(report)}` : ''} (republished events, same id: ${invariants.republishedEvents})`,
  );
  if (faults.storyErrors)
    log(`story errors: ${faults.storyErrors}: ${faults.storyErrorExamples.slice(0, 5).join(' | ')}`);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error('[soak] failed:', error);
    process.exit(2);
  },
);
