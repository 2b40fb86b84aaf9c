import { OPEN_PAYMENT_SHARDS } from '../src/persistence/keys';
import type { expiryWave } from './scenarios/expiry-wave';

export type ExpiryWaveResults = Awaited<ReturnType<typeof expiryWave>>;

const AWS_PARTITION_WCU = 1_000;
const PEAK_ORDERS_PER_SECOND = 5_000;
/**
 * Due-index write units an order causes in its first seconds: its payment's entry, and the start
 * re-keying it to its first provider look (a delete and a put); one unit each, the index holding keys only.
 */
export const DUE_UNITS_PER_ORDER = 3;

/** docs/PERFORMANCE.md: the expiry wave's figures and the arithmetic behind the design. */
export function expiryWaveSection(wave: ExpiryWaveResults | undefined): string[] {
  const perPartition = (PEAK_ORDERS_PER_SECOND * DUE_UNITS_PER_ORDER) / OPEN_PAYMENT_SHARDS;
  const arithmetic = [
    `- The due index: at ${PEAK_ORDERS_PER_SECOND.toLocaleString('en')} orders/s every order writes about ${DUE_UNITS_PER_ORDER} due-index units (its payment's entry, then the start's delete and put, one unit each: the index holds keys only, so neither the payment's size nor a write that keeps its due time counts), ${(PEAK_ORDERS_PER_SECOND * DUE_UNITS_PER_ORDER).toLocaleString('en')} units/s over ${OPEN_PAYMENT_SHARDS} partitions (\`PAYMENT#0..${OPEN_PAYMENT_SHARDS - 1}\`, src/persistence/keys.ts): ${Math.round(perPartition)} a partition, ${Math.round((perPartition / AWS_PARTITION_WCU) * 100)} % of DynamoDB's ${AWS_PARTITION_WCU.toLocaleString('en')}. The wave itself only removes entries (10,000 in a minute ≈ 167 units/s in all).`,
    '- Finding is cheap: one sweeper run reads the due payments a page of 100 at a time (32 queries a page, one per partition) and sends them ten to a SendMessageBatch; the provider calls are the bottleneck, so the expiry worker fans them out: `expiryWorkerMaxConcurrency` containers (10 by default) × 10 payments a batch, each provider in its own lane.',
    "- The provider is the ceiling: a started payment costs a query and a close, a never-started one none. 10,000 due with all of them started at WeChat is 20,000 calls; at the default 100 calls/s per merchant (PROVIDER_CALLS_PER_SECOND, shared by the containers) that is 200 s, so the minute holds ~3,000 started payments at that rate, or set the rate to ~350/s to drain 10,000 started ones in a minute (WeChat publishes no query/close limit; community figures put creation near 600/s per merchant, and the rate must leave room for checkouts). A flash sale's unpaid orders are mostly never started (no call at all), and WeChat's own `time_expire` stays the backstop.",
    "- Stock back: an order holding a sharded (flash-sale) product's units, or any order with ORDER_UNPAID_CANCEL_MINUTES=0, is cancelled by its payment's expiry in the same transaction, so a unit is back on sale when its payment is settled, not at the next day's unpaid-order sweep.",
  ];
  if (!wave) return ['## The expiry wave', '', 'Not run yet: `npm run bench -- expiry-wave`.', '', ...arithmetic, ''];
  return [
    '## The expiry wave',
    '',
    `\`npm run bench -- expiry-wave\`, ${wave.at}: ${wave.payments.toLocaleString('en')} payments due in the same minute (one SKU, ${wave.started.toLocaleString('en')} of them started at WeChat, the rest never started), one sweeper run enqueueing them onto fauxqs, ${wave.containers} expiry-worker containers (${wave.workerConcurrency} payments side by side each) draining it against the WeChat sandbox's limit of ${wave.providerLimitPerSecond} calls per API and second and our own rate of ${wave.callsPerSecond} calls/s. DynamoDB Local and fauxqs on this machine; load average before ${wave.loadAverageBefore.join(' / ')}, after ${wave.loadAverageAfter.join(' / ')}.`,
    '',
    '| due payments | enqueued | sweeper run | drained in | payments/s | provider calls | calls/s | busy answers | expired | stock back | dead letters |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${wave.payments.toLocaleString('en')} | ${wave.enqueued.toLocaleString('en')} | ${wave.sweepSeconds} s | ${wave.drainSeconds} s | ${wave.paymentsPerSecond} | ${wave.providerCalls.toLocaleString('en')} | ${wave.providerCallsPerSecond} | ${wave.providerBusy} | ${wave.expired.toLocaleString('en')} | ${wave.stockBack.toLocaleString('en')} | ${wave.deadLetters} |`,
    '',
    ...arithmetic,
    '',
  ];
}
