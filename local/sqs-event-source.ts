import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

/**
 * What Lambda's SQS event source mapping does, on one machine: long-poll a batch, invoke the
 * handler with an SQS event, delete the records that succeeded, and leave the reported failures
 * to reappear after the visibility timeout (SQS itself moves them to the DLQ after
 * maxReceiveCount). A handler that throws fails the whole batch, as in Lambda.
 */
export interface SqsEventSourceOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn?: string;
  handler: SqsHandler;
  batchSize?: number;
  waitSeconds?: number;
  onError?: (error: unknown) => void;
}

export function startSqsEventSource(options: SqsEventSourceOptions): { stop(): Promise<void>; idle(): Promise<void> } {
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        await pollOnce(options);
      } catch (error) {
        if (!running) return;
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const inFlight = loop();
  return {
    async stop() {
      running = false;
      await inFlight;
    },
    /** Resolves after one empty poll: everything visible has been handled. */
    async idle() {
      for (;;) if ((await pollOnce(options)) === 0) return;
    },
  };
}

/** One receive, one invocation, one delete of what succeeded; answers how many messages came. */
async function pollOnce(options: SqsEventSourceOptions): Promise<number> {
  const received = await options.client.send(
    new ReceiveMessageCommand({
      QueueUrl: options.queueUrl,
      MaxNumberOfMessages: options.batchSize ?? 10,
      WaitTimeSeconds: options.waitSeconds ?? 1,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  const messages = received.Messages ?? [];
  if (messages.length === 0) return 0;
  const event: SQSEvent = {
    Records: messages.map((message) => toRecord(message, options.queueArn ?? options.queueUrl)),
  };
  let failed = new Set(messages.map((message) => message.MessageId!));
  try {
    const context = {
      awsRequestId: randomUUID(),
      functionName: 'payment-worker',
      getRemainingTimeInMillis: () => 30_000,
    } as unknown as Context;
    const response = await options.handler(event, context);
    failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
  } catch (error) {
    options.onError?.(error);
  }
  const succeeded = messages.filter((message) => !failed.has(message.MessageId!));
  if (succeeded.length > 0) {
    await options.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: succeeded.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return messages.length;
}

export function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          stringValue: value.StringValue,
          dataType: value.DataType ?? 'String',
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'local',
  };
}
