import { OPEN_PAYMENT_SHARDS } from '../src/persistence/keys';
import type { FlashSaleRow } from './scenarios/flash-sale';
import { DUE_UNITS_PER_ORDER } from './expiry-wave-report';

/** `npm run bench -- flash-sale` as recorded in bench/results.json. */
export interface FlashSaleResults {
  at: string;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  units: number;
  inFlight: number;
  partitionUnitsPerSecond: number;
  rows: FlashSaleRow[];
  /** How the rows were taken, when not in one run. */
  note?: string;
}

/** AWS's write limit of one partition (and so of one item), units per second. */
const AWS_PARTITION_WCU = 1_000;
/** Orders per second planned per shard: half the transactional ceiling, for conflict headroom (SCALE.md). */
const PLANNED_PER_SHARD = 250;
const ON_DEMAND_WARM_START = 4_000;
const TABLE_QUOTA = 40_000;

/** The flash-sale figures and, on paper, what they mean on AWS. */
export function flashSaleSection(flash: FlashSaleResults | undefined, createUnits: number): string[] {
  if (!flash) return [];
  const scale = AWS_PARTITION_WCU / flash.partitionUnitsPerSecond;
  const dueCeiling = (OPEN_PAYMENT_SHARDS * AWS_PARTITION_WCU) / DUE_UNITS_PER_ORDER;
  return [
    '## Flash sale: one SKU under the partition model',
    '',
    `\`npm run bench -- flash-sale\`, ${flash.at}: ${flash.units.toLocaleString('en')} units of one SKU, ${flash.inFlight} orders in flight (each a customer of its own) through the create use case on DynamoDB Local, with the partition model (test/support/partition-model.ts) refusing any partition past ${flash.partitionUnitsPerSecond} write units a second (AWS: ${AWS_PARTITION_WCU.toLocaleString('en')}; ×${scale} below). Load average before ${flash.loadAverageBefore.join(' / ')}, after ${flash.loadAverageAfter.join(' / ')} (2 cores shared with other work). A sale still selling after its time limit is cut off (sold out: no).`,
    ...(flash.note ? ['', flash.note] : []),
    '',
    '| shards | orders/s | p50 ms | p99 ms | seconds | sold | left | oversold | sold out | throttled requests | 503 answers | 409 with units left | emulator lock timeouts | sold-out answers | their writes | hottest partitions (units in one second) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...flash.rows.map(
      (row) =>
        `| ${row.shards} | ${row.ordersPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${row.seconds} | ${row.sold} | ${row.left} | ${row.oversold} | ${row.soldOut ? 'yes' : 'no'} | ${row.throttledRequests} | ${row.capacityAnswers} | ${row.refusedWithStockLeft} | ${row.emulatorErrors ?? 0} | ${row.soldOutAnswers} | ${row.soldOutWrites} | ${row.hottest.map((hot) => `${hot.partition} ${hot.unitsPerSecond}`).join(', ')} |`,
    ),
    '',
    flash.rows.every((row) => row.oversold === 0)
      ? 'Sold + left = the units put on sale in every row (oversold 0): no shard is ever taken below zero, each take being conditional on `available >= quantity` in the order’s own transaction.'
      : '**A row oversold: a defect.**',
    flash.rows.some((row) => row.soldOut)
      ? 'Sold-out answers come from the product’s marker in the container’s copy: no write, and no read for 2 s at a time.'
      : 'No row sold out within its time, so this run measured no sold-out answers (test/integration/sharded-stock.test.ts asserts that one sends no request at all).',
    '',
    '### On AWS, on paper',
    '',
    `- One shard is one item: ${AWS_PARTITION_WCU.toLocaleString('en')} write units/s, and an order’s take from it is a transactional write of an item under 1 KB, 2 units: at most ${AWS_PARTITION_WCU / 2} orders/s per shard, fewer when concurrent transactions on it conflict; planned at ${PLANNED_PER_SHARD}/s. An unsharded product is one shard: ~${AWS_PARTITION_WCU / 2}/s at best, then throttling (503 CAPACITY_EXCEEDED here, retryable), never “sold out”.`,
    ...[1, 4, 16, 64].map(
      (shards) =>
        `- ${shards} shard${shards > 1 ? 's' : ''}: up to ${((shards * AWS_PARTITION_WCU) / 2).toLocaleString('en')} orders/s, planned ${(shards * PLANNED_PER_SHARD).toLocaleString('en')}/s, which writes ${(shards * PLANNED_PER_SHARD * createUnits).toLocaleString('en')} units/s at ${createUnits} write units per create (the cost section’s figure).`,
    ),
    `- The table: a new on-demand table starts warm at ${ON_DEMAND_WARM_START.toLocaleString('en')} write units/s (≈ ${Math.floor(ON_DEMAND_WARM_START / createUnits)} orders/s here) and grows with traffic, too slowly for a sale that starts on the second: set warm throughput (UpdateTable WarmThroughput) to the planned rate’s units before the sale, and raise the account’s per-table quota (${TABLE_QUOTA.toLocaleString('en')} write units/s by default, ≈ ${Math.floor(TABLE_QUOTA / createUnits).toLocaleString('en')} orders/s) through Service Quotas. 5,000 orders/s needs 20 shards and ${(5_000 * createUnits).toLocaleString('en')} units/s.`,
    `- The next ceiling is the due index: every new payment (${Math.max(...flash.rows.map((row) => row.paymentItemBytes))} bytes) writes a keys-only entry (one unit) into one of ${OPEN_PAYMENT_SHARDS} due-index partitions and its start re-keys it (two more), ${DUE_UNITS_PER_ORDER} units an order: ${Math.round(dueCeiling).toLocaleString('en')} started orders/s for all partitions together; past it the index throttles and back-pressures the table’s writes (see the expiry wave below). After that, the stock marker and the catalogue reads are far below their limits (a container reads a product once per 30 s, once per 2 s when sold out).`,
    '',
  ];
}
