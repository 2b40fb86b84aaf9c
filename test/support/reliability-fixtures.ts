import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, expect, inject } from 'vitest';
import { describeViolations, type InvariantReport } from './invariants';
import { Rig, type RigOptions } from './reliability-rig';
import { type SandboxKeys, sandboxKeys } from './sweeper-fixtures';

/** Where the reliability files leave their figures for docs/RELIABILITY.md (git-ignored). */
export const FIGURES_DIR = path.join('test-results', 'reliability');

/** What a reliability file did, summed over its tests. */
export interface Figures {
  tests: number;
  orders: number;
  callbacksDelivered: number;
  awsCalls: number;
  awsFaults: Record<string, number>;
  crashes: Record<string, number>;
  providerFailures: Record<string, number>;
  hostileInputs: number;
  /** Hostile inputs' answers, by HTTP status. */
  answers?: Record<string, number>;
  invariantChecks: number;
  invariantViolations: number;
  republishedEvents: number;
}

const emptyFigures = (): Figures => ({
  tests: 0,
  orders: 0,
  callbacksDelivered: 0,
  awsCalls: 0,
  awsFaults: {},
  crashes: {},
  providerFailures: {},
  hostileInputs: 0,
  invariantChecks: 0,
  invariantViolations: 0,
  republishedEvents: 0,
});

export function writeFigures(name: string, figures: Partial<Figures>): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(
    path.join(FIGURES_DIR, `${name}.json`),
    `${JSON.stringify({ file: name, at: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
}

const add = (into: Record<string, number>, key: string, count: number) => {
  if (count > 0) into[key] = (into[key] ?? 0) + count;
};

/**
 * A fresh rig (own table, own queues) per test, its figures summed for the file and written to
 * test-results/reliability/<name>.json once the file is done.
 */
export function useRig(name: string, options: Partial<Omit<RigOptions, 'dynamoEndpoint' | 'keys'>> = {}) {
  const keys: SandboxKeys = sandboxKeys();
  const figures = emptyFigures();
  const state: { rig?: Rig } = {};

  beforeEach(async () => {
    state.rig = await Rig.start({ dynamoEndpoint: inject('dynamoEndpoint'), keys, ...options });
  });

  afterEach(async () => {
    const rig = state.rig;
    if (!rig) return;
    figures.tests++;
    rig.faults.enabled = false;
    figures.orders += (await rig.env.scan()).filter((item) => item.kind === 'order').length;
    figures.awsCalls += rig.faults.calls.dynamodb + rig.faults.calls.sqs + rig.faults.calls.eventbridge;
    for (const [key, count] of Object.entries(rig.faults.summary())) add(figures.awsFaults, key, count);
    for (const [point, count] of rig.crash.crashes) add(figures.crashes, point, count);
    for (const world of Object.values(rig.providers)) {
      for (const [behaviour, count] of Object.entries(world.standIn?.calls ?? {}))
        if (behaviour !== 'up') add(figures.providerFailures, `${world.method} ${behaviour}`, count);
    }
    figures.callbacksDelivered += rig.callbacksReceived;
    await rig.stop();
    state.rig = undefined;
  });

  afterAll(() => writeFigures(name, figures));

  return {
    keys,
    figures,
    /** The current test's rig. */
    get rig(): Rig {
      if (!state.rig) throw new Error('no rig outside a test');
      return state.rig;
    },
    /** Checks every invariant on the current rig and counts it in the file's figures. */
    async expectInvariants(): Promise<InvariantReport> {
      const report = await state.rig!.check();
      figures.invariantChecks++;
      figures.invariantViolations += report.violations.length;
      figures.republishedEvents += report.republishedEvents;
      expect(report.violations, describeViolations(report)).toEqual([]);
      return report;
    },
  };
}
