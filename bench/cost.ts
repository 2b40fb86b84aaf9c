/**
 * List prices, us-east-1, as known on 2025-06 (on-demand DynamoDB after its November 2024 price
 * cut; Lambda on arm64, as the stack deploys). ap-east-1 (Hong Kong) lists most of these about
 * 10–40 % higher: re-price before quoting this for a deployment there.
 */
export const PRICES = {
  source:
    'AWS list prices, us-east-1, as of 2025-06 (API Gateway HTTP API, Lambda arm64, DynamoDB on-demand, SQS standard, EventBridge custom events, CloudWatch Logs standard ingestion); ap-east-1 is higher',
  apiRequestPerMillion: 1.0,
  lambdaRequestPerMillion: 0.2,
  lambdaGbSecond: 0.0000133334,
  dynamoWriteUnitPerMillion: 0.625,
  dynamoReadUnitPerMillion: 0.125,
  sqsRequestPerMillion: 0.4,
  eventBridgeEventPerMillion: 1.0,
  logsIngestedPerGb: 0.5,
};

/** Memory of every function (cdk/payments-function.ts). */
const LAMBDA_GB = 512 / 1024;
export interface LoopUsage {
  apiRequests: number;
  /** The functions invoked per payment (once, unless `perPayment` says), each with its median duration measured locally. */
  invocations: Array<{ fn: string; ms: number; perPayment?: number }>;
  readUnits: number;
  /** By AWS's per-item rules for the table (bench/write-units.ts), plus the indexes' units as DynamoDB Local reports them. */
  writeUnits: number;
  /** As DynamoDB Local reports them, for comparison (it bills a transaction by its total size). */
  localWriteUnits: number;
  /** `writeUnits` by step of the loop. */
  writeUnitsByStep: Record<string, number>;
  /** Each step's write units by where they land: `table`, and each secondary index by name. */
  writeUnitsByStepAndTarget?: Record<string, Record<string, number>>;
  sqsRequests: number;
  events: number;
  /** What the loop's invocations print in Lambda (bench/lambda-logs.ts). */
  logBytes: number;
}

/** The usage of one completed payment, priced, per 1M payments; items largest first. */
export function costPerMillion(usage: LoopUsage) {
  const million = 1_000_000;
  const invocations = usage.invocations.reduce((sum, { perPayment = 1 }) => sum + perPayment, 0);
  const gbSeconds =
    usage.invocations.reduce((sum, { ms, perPayment = 1 }) => sum + (perPayment * Math.ceil(ms)) / 1000, 0) * LAMBDA_GB;
  const { logBytes } = usage;
  const items = [
    {
      item: 'API Gateway requests',
      usage: `${usage.apiRequests}`,
      usdPerMillion: usage.apiRequests * PRICES.apiRequestPerMillion,
    },
    {
      item: 'Lambda requests',
      usage: invocations.toFixed(1),
      usdPerMillion: invocations * PRICES.lambdaRequestPerMillion,
    },
    {
      item: 'Lambda duration (512 MB)',
      usage: `${usage.invocations.map(({ fn, ms, perPayment }) => `${fn} ${perPayment === undefined ? '' : `${perPayment.toFixed(1)} × `}${Math.ceil(ms)} ms`).join(', ')}`,
      usdPerMillion: gbSeconds * million * PRICES.lambdaGbSecond,
    },
    {
      item: 'DynamoDB write units',
      usage: `${usage.writeUnits.toFixed(1)} (Local: ${usage.localWriteUnits.toFixed(1)})`,
      usdPerMillion: usage.writeUnits * PRICES.dynamoWriteUnitPerMillion,
    },
    {
      item: 'DynamoDB read units',
      usage: usage.readUnits.toFixed(1),
      usdPerMillion: usage.readUnits * PRICES.dynamoReadUnitPerMillion,
    },
    {
      item: 'SQS requests',
      usage: `${usage.sqsRequests}`,
      usdPerMillion: usage.sqsRequests * PRICES.sqsRequestPerMillion,
    },
    {
      item: 'EventBridge events',
      usage: usage.events.toFixed(1),
      usdPerMillion: usage.events * PRICES.eventBridgeEventPerMillion,
    },
    {
      item: 'CloudWatch Logs ingested',
      usage: `${Math.round(logBytes)} B`,
      usdPerMillion: ((logBytes * million) / 2 ** 30) * PRICES.logsIngestedPerGb,
    },
  ].sort((a, b) => b.usdPerMillion - a.usdPerMillion);
  return {
    items,
    totalUsdPerMillion: items.reduce((sum, item) => sum + item.usdPerMillion, 0),
    biggest: items[0]!.item,
  };
}

/** Queries of a sweeper run with nothing due (test/integration/request-counts.test.ts): each due-index shard. */
const IDLE_SWEEP_QUERIES = 12;
const SWEEPS_PER_MONTH = 60 * 24 * 30;

/** The expiry loop's usage per order, priced per 1M orders; with the sweeper's fixed monthly cost. */
export function expiryCostPerMillion(usage: {
  readUnits: number;
  writeUnits: number;
  localWriteUnits: number;
  events: number;
  logBytes: number;
}) {
  const million = 1_000_000;
  const items = [
    {
      item: 'DynamoDB write units',
      usage: `${usage.writeUnits.toFixed(1)} (Local: ${usage.localWriteUnits.toFixed(1)})`,
      usdPerMillion: usage.writeUnits * PRICES.dynamoWriteUnitPerMillion,
    },
    {
      item: 'DynamoDB read units',
      usage: usage.readUnits.toFixed(1),
      usdPerMillion: usage.readUnits * PRICES.dynamoReadUnitPerMillion,
    },
    {
      item: 'EventBridge events',
      usage: usage.events.toFixed(1),
      usdPerMillion: usage.events * PRICES.eventBridgeEventPerMillion,
    },
    {
      item: 'CloudWatch Logs ingested',
      usage: `${Math.round(usage.logBytes)} B`,
      usdPerMillion: ((usage.logBytes * million) / 2 ** 30) * PRICES.logsIngestedPerGb,
    },
  ].sort((a, b) => b.usdPerMillion - a.usdPerMillion);
  // An idle run: ~100 ms at 512 MB, and each query reads at least one unit (eventually consistent: half).
  const fixedUsd =
    SWEEPS_PER_MONTH * (PRICES.lambdaRequestPerMillion / million + 0.1 * LAMBDA_GB * PRICES.lambdaGbSecond) +
    (SWEEPS_PER_MONTH * IDLE_SWEEP_QUERIES * 0.5 * PRICES.dynamoReadUnitPerMillion) / million;
  return {
    items,
    totalUsdPerMillion: items.reduce((sum, item) => sum + item.usdPerMillion, 0),
    fixedMonthly: { invocations: SWEEPS_PER_MONTH, queries: SWEEPS_PER_MONTH * IDLE_SWEEP_QUERIES, usd: fixedUsd },
  };
}
