import type { MetricName, Metrics, MetricUnit } from '../src/core/kernel/metric-names';

export interface MetricSample {
  name: MetricName;
  value: number;
  unit: MetricUnit;
  dimensions: Record<string, string>;
  at: number;
}

/**
 * Metrics kept in memory: the local runtime's dashboard reads them, tests assert on them. Keeps
 * the most recent samples only, so a long local run does not grow without bound.
 */
export class RecordedMetrics implements Metrics {
  readonly samples: MetricSample[] = [];

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly maxSamples = 50_000,
  ) {}

  count(name: MetricName, value = 1, dimensions: Record<string, string> = {}): void {
    this.push({ name, value, unit: 'Count', dimensions, at: this.clock() });
  }

  observe(name: MetricName, value: number, unit: MetricUnit, dimensions: Record<string, string> = {}): void {
    this.push({ name, value, unit, dimensions, at: this.clock() });
  }

  /** Sum of a counter, optionally only the samples matching some dimensions. */
  total(name: MetricName, where: Record<string, string> = {}): number {
    return this.matching(name, where).reduce((sum, sample) => sum + sample.value, 0);
  }

  values(name: MetricName, where: Record<string, string> = {}): number[] {
    return this.matching(name, where).map((sample) => sample.value);
  }

  private matching(name: MetricName, where: Record<string, string>): MetricSample[] {
    return this.samples.filter(
      (sample) => sample.name === name && Object.entries(where).every(([k, v]) => sample.dimensions[k] === v),
    );
  }

  private push(sample: MetricSample): void {
    this.samples.push(sample);
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
  }
}
