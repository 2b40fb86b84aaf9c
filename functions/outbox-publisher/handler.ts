import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { awsWiring } from '../../src/aws/wiring';
import { dynamoTable } from '../../src/aws/dynamo-table';
import { committedOutboxEntry } from '../../src/persistence/outbox';
import { eventBus } from '../../src/aws/eventbridge-publisher';
import { publishOutboxEntries } from '../../src/core/outbox/outbox';
import { lambdaHandler, type Wiring } from '../../src/runtime/wiring';

/**
 * The table's stream → the events of each committed outbox entry onto the bus, in stream order. The
 * event source's filter passes only writes that carry an entry; anything else that reaches here is skipped. A failure
 * reports the first entry not published (ReportBatchItemFailures): Lambda retries the shard from
 * there, with the same event ids, until it succeeds or the record ages out to the DLQ (alarmed).
 */
export const makeHandler = (wiring: Wiring) =>
  lambdaHandler(wiring, async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const deps = await wiring.deps();
    const committed = event.Records.flatMap((record) => {
      const entry = committedOutboxEntry(record);
      return entry ? [{ entry, sequenceNumber: record.dynamodb!.SequenceNumber! }] : [];
    });
    const { firstToRetry } = await publishOutboxEntries(
      deps,
      committed.map(({ entry }) => entry),
    );
    return {
      batchItemFailures:
        firstToRetry === undefined ? [] : [{ itemIdentifier: committed[firstToRetry]!.sequenceNumber }],
    };
  });

export const handler = makeHandler(awsWiring('outbox-publisher', { table: dynamoTable, events: eventBus }));
