import { describe, expect, it } from 'vitest';
import { RecordedMetrics } from '../../../local/recorded-metrics';
import { Metric } from '../../../src/core/kernel/metric-names';
import {
  adaptiveBucketSeconds,
  dashboardSeries,
  parseBucketSeconds,
  percentile,
  SERIES_BUCKETS,
} from '../../../local/dashboard-series';

/**
 * The five figures over time, as the local dashboard charts them: metrics recorded at known times
 * (RecordedMetrics with a clock we move), bucketed per minute unless said otherwise.
 */

// 12:00:30 UTC: the last one-minute bucket is 12:00–12:01, the first 11:01.
const NOW = Date.parse('2026-11-28T12:00:30.000Z');
const MINUTE = 60_000;

function recorder() {
  let at = NOW;
  const metrics = new RecordedMetrics(() => at);
  /** Records what `record` does as if `minutesAgo` minutes before NOW. */
  const when = (minutesAgo: number, record: (metrics: RecordedMetrics) => void) => {
    at = NOW - minutesAgo * MINUTE;
    record(metrics);
  };
  return { metrics, when };
}

/** The value of a series in the bucket `minutesAgo` minutes before the last one. */
const minutesAgo = <T>(values: T[], minutes: number): T => values[SERIES_BUCKETS - 1 - minutes]!;

describe('dashboardSeries', () => {
  it('shows the last 60 buckets, aligned to their width, the last one holding now', () => {
    const series = dashboardSeries([], NOW, 60);
    expect(series.bucketSeconds).toBe(60);
    expect(series.bucketStarts).toHaveLength(60);
    expect(series.bucketStarts[0]).toBe('2026-11-28T11:01:00.000Z');
    expect(series.bucketStarts.at(-1)).toBe('2026-11-28T12:00:00.000Z');
  });

  it('gives the success rate of the payments that ended in each bucket, and no rate where none ended', () => {
    const { metrics, when } = recorder();
    when(3, (m) => {
      m.count(Metric.PaymentSucceeded, 1, { provider: 'wechat' });
      m.count(Metric.PaymentSucceeded, 1, { provider: 'alipay' });
      m.count(Metric.PaymentFailed, 1, { provider: 'bank' });
      m.count(Metric.PaymentsCreated, 5); // created is not ended: it does not dilute the rate
    });
    when(1, (m) => {
      m.count(Metric.PaymentCancelled);
      m.count(Metric.PaymentExpired);
    });
    when(0, (m) => m.count(Metric.PaymentSucceeded));

    const rates = dashboardSeries(metrics.samples, NOW, 60).successRatePercent;
    expect([minutesAgo(rates, 3), minutesAgo(rates, 2), minutesAgo(rates, 1), minutesAgo(rates, 0)]).toEqual([
      66.7,
      null,
      0,
      100,
    ]);
    expect(rates.filter((rate) => rate !== null)).toHaveLength(3);
    const series = dashboardSeries(metrics.samples, NOW, 60);
    expect([minutesAgo(series.paymentsSucceeded, 3), minutesAgo(series.paymentsEnded, 3)]).toEqual([2, 3]);
    expect([series.paymentsSucceeded.reduce((a, b) => a + b), series.paymentsEnded.reduce((a, b) => a + b)]).toEqual([
      3, 6,
    ]);
  });

  it('gives the callback latency p50 and p99 of each bucket by nearest rank', () => {
    const { metrics, when } = recorder();
    when(2, (m) => {
      for (const ms of [100, 7, 3, 9, 1, 5, 2, 8, 4, 6])
        m.observe(Metric.CallbackLatency, ms, 'Milliseconds', { provider: 'wechat' });
    });
    when(0, (m) => m.observe(Metric.CallbackLatency, 12.34, 'Milliseconds'));

    const series = dashboardSeries(metrics.samples, NOW, 60);
    expect([minutesAgo(series.callbackLatencyP50Ms, 2), minutesAgo(series.callbackLatencyP99Ms, 2)]).toEqual([5, 100]);
    expect([minutesAgo(series.callbackLatencyP50Ms, 0), minutesAgo(series.callbackLatencyP99Ms, 0)]).toEqual([
      12.3, 12.3,
    ]);
    expect(minutesAgo(series.callbackLatencyP50Ms, 1)).toBeNull();
  });

  it('counts signature failures (not probes) and timeouts per bucket, zero where there were none', () => {
    const { metrics, when } = recorder();
    when(4, (m) => {
      m.count(Metric.SignatureFailure, 1, { provider: 'alipay' });
      m.count(Metric.SignatureFailure, 1, { provider: 'wechat' });
      m.count(Metric.SignatureProbe, 1, { provider: 'wechat' });
      m.count(Metric.CallbackReceived, 3);
    });
    when(2, (m) => m.count(Metric.PaymentExpired, 1, { provider: 'bank' }));
    when(2, (m) => m.count(Metric.PaymentExpired, 1, { provider: 'wechat' }));

    const series = dashboardSeries(metrics.samples, NOW, 60);
    expect(minutesAgo(series.signatureFailures, 4)).toBe(2);
    expect(series.signatureFailures.reduce((a, b) => a + b)).toBe(2);
    expect(minutesAgo(series.timeouts, 2)).toBe(2);
    expect(series.timeouts.reduce((a, b) => a + b)).toBe(2);
    expect(minutesAgo(series.timeouts, 3)).toBe(0);
  });

  it("plots the sweeper's payments-in-flight gauge: its highest reading in a bucket, nothing where it did not run", () => {
    const { metrics, when } = recorder();
    when(5, (m) => m.observe(Metric.PaymentsInFlight, 4, 'Count'));
    when(4.9, (m) => m.observe(Metric.PaymentsInFlight, 7, 'Count'));
    when(4.8, (m) => m.observe(Metric.PaymentsInFlight, 5, 'Count'));
    when(1, (m) => m.observe(Metric.PaymentsInFlight, 0, 'Count'));

    const inFlight = dashboardSeries(metrics.samples, NOW, 60).paymentsInFlight;
    expect([minutesAgo(inFlight, 5), minutesAgo(inFlight, 3), minutesAgo(inFlight, 1)]).toEqual([7, null, 0]);
  });

  it('leaves out samples older than the window, and buckets by the width asked for', () => {
    const { metrics, when } = recorder();
    when(61, (m) => m.count(Metric.PaymentExpired));
    when(59, (m) => m.count(Metric.PaymentExpired));
    expect(dashboardSeries(metrics.samples, NOW, 60).timeouts.reduce((a, b) => a + b)).toBe(1);

    const fiveMinutes = dashboardSeries(metrics.samples, NOW, 300);
    expect(fiveMinutes.bucketStarts.at(-1)).toBe('2026-11-28T12:00:00.000Z');
    expect(fiveMinutes.timeouts.reduce((a, b) => a + b)).toBe(2);
    expect([fiveMinutes.timeouts.at(-14), fiveMinutes.timeouts.at(-13)]).toEqual([1, 1]); // 10:55 (61 minutes ago), 11:00 (59)
  });
});

describe('the bucket width', () => {
  it('adapts to how long the run has recorded: 1 s for a fresh run, minutes for a long one, an hour at most', () => {
    const span = (minutes: number) =>
      adaptiveBucketSeconds(
        [{ name: Metric.PaymentsCreated, value: 1, unit: 'Count', dimensions: {}, at: NOW - minutes * MINUTE }],
        NOW,
      );
    expect(adaptiveBucketSeconds([], NOW)).toBe(1);
    expect([
      span(0.5),
      span(1.5),
      span(2),
      span(4.9),
      span(6),
      span(45),
      span(90),
      span(600),
      span(24 * 60),
      span(7 * 24 * 60),
    ]).toEqual([1, 2, 5, 5, 10, 60, 300, 900, 3600, 3600]);
    expect(dashboardSeries([], NOW).bucketSeconds).toBe(1);
  });

  it('reads ?bucket= as whole seconds in 1..86400, absent meaning adaptive', () => {
    expect([
      parseBucketSeconds(null),
      parseBucketSeconds(''),
      parseBucketSeconds('60'),
      parseBucketSeconds('86400'),
    ]).toEqual([{ ok: true }, { ok: true }, { ok: true, bucketSeconds: 60 }, { ok: true, bucketSeconds: 86_400 }]);
    for (const bad of ['0', '86401', '1.5', '-5', '1e3', 'abc', ' 60'])
      expect(parseBucketSeconds(bad)).toMatchObject({ ok: false });
  });
});

describe('percentile', () => {
  it('is the nearest rank, to a tenth, and none of nothing', () => {
    const values = Array.from({ length: 200 }, (_, index) => index + 1);
    expect([
      percentile(values, 50),
      percentile(values, 99),
      percentile(values, 100),
      percentile([3.26], 99),
      percentile([], 50),
    ]).toEqual([100, 198, 200, 3.3, null]);
  });
});
