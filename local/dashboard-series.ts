import type { MetricSample } from './recorded-metrics';
import { Metric, type MetricName } from '../src/core/kernel/metric-names';

/**
 * The five headline figures over time, from the samples the functions recorded in this run
 * (docs/ARCHITECTURE.md#observability), bucketed the way a CloudWatch graph buckets by period.
 * Pure: the dashboard's page only draws what this returns.
 */

/** How many buckets a chart shows: the last hour at one-minute buckets. */
export const SERIES_BUCKETS = 60;
/**
 * Bucket widths the adaptive choice picks from, in seconds: the smallest one whose 60 buckets
 * cover everything recorded, so a run of half a minute shows 1 s buckets, one of a few minutes
 * 5 s buckets, and a day-long one hours.
 */
export const BUCKET_LADDER_SECONDS = [1, 2, 5, 10, 30, 60, 300, 900, 3600] as const;
export const MAX_BUCKET_SECONDS = 86_400;

const ENDED = [Metric.PaymentSucceeded, Metric.PaymentFailed, Metric.PaymentCancelled, Metric.PaymentExpired] as const;

export interface DashboardSeries {
  bucketSeconds: number;
  /** Start of each bucket (ISO-8601 UTC), oldest first; the last one holds `now`. */
  bucketStarts: string[];
  /** Succeeded / ended payments per bucket, percent to one decimal; null where none ended. */
  successRatePercent: (number | null)[];
  /** The rate's parts: payments that succeeded, and that ended (succeeded, failed, cancelled or expired). */
  paymentsSucceeded: number[];
  paymentsEnded: number[];
  /** Callback latency (receive → enqueued) percentiles per bucket; null where no callback was accepted. */
  callbackLatencyP50Ms: (number | null)[];
  callbackLatencyP99Ms: (number | null)[];
  /** Callbacks refused for their signature or key (probes not included). */
  signatureFailures: number[];
  /** Payments that expired unpaid. */
  timeouts: number[];
  /** The sweeper's gauge of open payments: its highest reading in the bucket (as the CloudWatch dashboard's Maximum); null where it did not run. */
  paymentsInFlight: (number | null)[];
}

/** Nearest-rank percentile of values sorted ascending, to 0.1; null when there are none. */
export function percentile(sortedAscending: readonly number[], p: number): number | null {
  if (sortedAscending.length === 0) return null;
  const rank = Math.min(sortedAscending.length - 1, Math.max(0, Math.ceil((p / 100) * sortedAscending.length) - 1));
  return Math.round(sortedAscending[rank]! * 10) / 10;
}

/** part / whole as a percentage to one decimal; null when the whole is zero. */
export function ratioPercent(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((part / whole) * 1000) / 10 : null;
}

/** The smallest ladder width whose 60 buckets reach back to the oldest sample (the widest if none does). */
export function adaptiveBucketSeconds(samples: readonly MetricSample[], now: number): number {
  const oldest = samples.reduce((min, sample) => Math.min(min, sample.at), now);
  const spanSeconds = (now - oldest) / 1000;
  return BUCKET_LADDER_SECONDS.find((width) => width * SERIES_BUCKETS > spanSeconds) ?? BUCKET_LADDER_SECONDS.at(-1)!;
}

/** `?bucket=` of the dashboard: whole seconds in 1..86400, or absent for the adaptive choice. */
export function parseBucketSeconds(
  raw: string | null,
): { ok: true; bucketSeconds?: number } | { ok: false; message: string } {
  if (raw === null || raw === '') return { ok: true };
  const seconds = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(seconds >= 1 && seconds <= MAX_BUCKET_SECONDS))
    return { ok: false, message: `bucket must be whole seconds in 1..${MAX_BUCKET_SECONDS}` };
  return { ok: true, bucketSeconds: seconds };
}

/**
 * The last 60 buckets ending at `now`. Buckets are aligned to multiples of their width (as
 * CloudWatch periods are), so a refresh moves the window without reshuffling what is in a bucket.
 */
export function dashboardSeries(
  samples: readonly MetricSample[],
  now: number,
  bucketSeconds = adaptiveBucketSeconds(samples, now),
): DashboardSeries {
  const width = bucketSeconds * 1000;
  const firstStart = Math.floor(now / width) * width - (SERIES_BUCKETS - 1) * width;
  const buckets = Array.from({ length: SERIES_BUCKETS }, () => [] as MetricSample[]);
  for (const sample of samples) {
    const index = Math.floor((sample.at - firstStart) / width);
    if (index >= 0 && index < SERIES_BUCKETS) buckets[index]!.push(sample);
  }
  const each = <T>(figure: (inBucket: BucketReader) => T) =>
    buckets.map((inBucket) => figure(new BucketReader(inBucket)));
  return {
    bucketSeconds,
    bucketStarts: buckets.map((_, index) => new Date(firstStart + index * width).toISOString()),
    successRatePercent: each((bucket) => ratioPercent(bucket.total(Metric.PaymentSucceeded), bucket.ended())),
    paymentsSucceeded: each((bucket) => bucket.total(Metric.PaymentSucceeded)),
    paymentsEnded: each((bucket) => bucket.ended()),
    callbackLatencyP50Ms: each((bucket) => percentile(bucket.sortedValues(Metric.CallbackLatency), 50)),
    callbackLatencyP99Ms: each((bucket) => percentile(bucket.sortedValues(Metric.CallbackLatency), 99)),
    signatureFailures: each((bucket) => bucket.total(Metric.SignatureFailure)),
    timeouts: each((bucket) => bucket.total(Metric.PaymentExpired)),
    paymentsInFlight: each((bucket) => bucket.max(Metric.PaymentsInFlight)),
  };
}

/** The samples of one bucket, read per metric. */
class BucketReader {
  constructor(private readonly samples: readonly MetricSample[]) {}

  total(name: MetricName): number {
    return this.named(name).reduce((sum, sample) => sum + sample.value, 0);
  }

  ended(): number {
    return ENDED.reduce((sum, name) => sum + this.total(name), 0);
  }

  sortedValues(name: MetricName): number[] {
    return this.named(name)
      .map((sample) => sample.value)
      .sort((a, b) => a - b);
  }

  max(name: MetricName): number | null {
    const values = this.sortedValues(name);
    return values.length ? values.at(-1)! : null;
  }

  private named(name: MetricName): MetricSample[] {
    return this.samples.filter((sample) => sample.name === name);
  }
}
