import 'aws-sdk-client-mock-vitest/extend';
import {
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsQueueRegion, sqsClient, sqsNotificationQueue, startDeadLetterRedrive } from '../../../src/aws/sqs-queue';
import { parseNotificationMessage } from '../../../src/core/kernel/messages';
import type { RefundNotification, PaymentNotification } from '../../../src/domain/notification';

const sqs = mockClient(SQSClient);
const client = sqsClient({ region: 'eu-west-1' });

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/payments-notifications';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/payments-notifications-dlq';
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:payments-notifications';
const DLQ_ARN = 'arn:aws:sqs:eu-west-1:123456789012:payments-notifications-dlq';

const notification: PaymentNotification = {
  provider: 'alipay',
  eventId: 'evt-2026112522001',
  paymentId: 'pay_01',
  providerTransactionId: '2026112522001',
  outcome: 'succeeded',
  amount: 12_800,
  currency: 'CNY',
  occurredAt: '2026-11-25T04:00:00.000Z',
  providerStatus: 'TRADE_SUCCESS',
  via: 'callback',
};

beforeEach(() => {
  sqs.reset();
  sqs
    .on(GetQueueAttributesCommand, { QueueUrl: QUEUE_URL })
    .resolves({ Attributes: { QueueArn: QUEUE_ARN, ApproximateNumberOfMessages: '0' } });
  sqs
    .on(GetQueueAttributesCommand, { QueueUrl: DLQ_URL })
    .resolves({ Attributes: { QueueArn: DLQ_ARN, ApproximateNumberOfMessages: '7' } });
});

describe('SQS adapter (src/aws/sqs-queue.ts)', () => {
  it('enqueues a notification as the worker reads it, with provider and event id as attributes', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });

    await sqsNotificationQueue(client, QUEUE_URL).enqueue(notification);

    expect(sqs).toHaveReceivedCommandOnce(SendMessageCommand);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE_URL,
      MessageAttributes: {
        provider: { DataType: 'String', StringValue: 'alipay' },
        eventId: { DataType: 'String', StringValue: 'evt-2026112522001' },
      },
    });
    const body = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!;
    expect(parseNotificationMessage(body)).toEqual(notification);
  });

  it('carries a refund notification to the worker as a refund notification, cumulative Alipay total included', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-2' });
    const refund: RefundNotification = {
      type: 'refund',
      provider: 'alipay',
      eventId: 'evt-refund-1',
      refundId: 'ref_01m8j2r6gtayjfwcq843jv',
      paymentId: 'pay_01m8j2r5rzcpkb9a555yeq',
      outcome: 'succeeded',
      amount: 0,
      paymentAmount: 6530,
      refundedTotal: 3265,
      currency: 'CNY',
      occurredAt: '2026-11-25T04:00:00.000Z',
      providerStatus: 'TRADE_SUCCESS',
      via: 'callback',
    };

    await sqsNotificationQueue(client, QUEUE_URL).enqueue(refund);

    const body = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!;
    expect(parseNotificationMessage(body)).toEqual(refund);
    expect(() => parseNotificationMessage(JSON.stringify({ ...refund, outcome: 'paid' }))).toThrow();
  });

  it('does not resolve an enqueue SQS refused: the callback must not be acknowledged', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('AccessDenied'));

    await expect(sqsNotificationQueue(client, QUEUE_URL).enqueue(notification)).rejects.toThrow('AccessDenied');
  });

  it('redrives in AWS with a message move task from the DLQ to the notification queue, reporting its handle', async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'eyJ0YXNrSWQiOiIxIn0=' });

    const task = await startDeadLetterRedrive(client, { dlqUrl: DLQ_URL, queueUrl: QUEUE_URL });

    expect(sqs).toHaveReceivedCommandExactlyOnceWith(StartMessageMoveTaskCommand, {
      SourceArn: DLQ_ARN,
      DestinationArn: QUEUE_ARN,
    });
    expect(task).toEqual({
      taskHandle: 'eyJ0YXNrSWQiOiIxIn0=',
      sourceArn: DLQ_ARN,
      destinationArn: QUEUE_ARN,
      messagesToMove: 7,
    });
  });

  it('fails a redrive SQS refuses with both queues and the reason named', async () => {
    sqs
      .on(StartMessageMoveTaskCommand)
      .rejects(
        new Error(
          'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
        ),
      );

    await expect(startDeadLetterRedrive(client, { dlqUrl: DLQ_URL, queueUrl: QUEUE_URL })).rejects.toThrow(
      `Could not start moving messages from ${DLQ_ARN} to ${QUEUE_ARN}: There is already a task running`,
    );
  });

  it('starts no move task when a queue does not resolve to an ARN', async () => {
    const missing = 'https://sqs.eu-west-1.amazonaws.com/123456789012/no-such-queue';
    sqs.on(GetQueueAttributesCommand, { QueueUrl: missing }).rejects(new Error('The specified queue does not exist.'));

    await expect(startDeadLetterRedrive(client, { dlqUrl: missing, queueUrl: QUEUE_URL })).rejects.toThrow(
      'does not exist',
    );
    expect(sqs).not.toHaveReceivedCommand(StartMessageMoveTaskCommand);
  });

  it('tells AWS queue URLs (move task) from local stand-ins (message by message), with their region', () => {
    expect(awsQueueRegion(QUEUE_URL)).toBe('eu-west-1');
    expect(awsQueueRegion('https://cn-north-1.queue.amazonaws.com.cn/123456789012/q')).toBe('cn-north-1');
    expect(awsQueueRegion('http://sqs.us-east-1.localhost:4566/000000000000/payments-notifications')).toBeUndefined();
    expect(awsQueueRegion('http://127.0.0.1:9324/queue/payments')).toBeUndefined();
  });
});
