import { sqsQueue } from '../src/aws/sqs-queue';

/**
 * `npm run dlq:replay`: moves dead-lettered payment notifications back to the worker's queue once
 * their cause is fixed. With NOTIFICATION_QUEUE_URL and NOTIFICATION_DLQ_URL: queues in AWS get an
 * SQS message move task (credentials from the usual AWS environment, the region from the URL);
 * another SQS endpoint (a stand-in without move tasks) is redriven message by message. Without
 * them: asks the local runtime (`npm start`).
 */
async function main() {
  const { NOTIFICATION_QUEUE_URL: queueUrl, NOTIFICATION_DLQ_URL: dlqUrl } = process.env;
  if (queueUrl && dlqUrl) {
    // The very adapter POST /api/admin/dead-letters/replay uses (src/aws/sqs-queue.ts).
    const { moved, detail } = await sqsQueue(process.env).replayDeadLetters();
    console.log(`Moving ${moved} dead-lettered notification(s) to ${queueUrl}: ${detail}`);
    return;
  }
  const base = `http://127.0.0.1:${process.env.PORT ?? 3000}`;
  const response = await fetch(`${base}/_local/dlq/replay`, { method: 'POST' }).catch(() => undefined);
  if (!response?.ok)
    throw new Error(
      `The local runtime at ${base} did not answer: start it with npm start (or set NOTIFICATION_QUEUE_URL and NOTIFICATION_DLQ_URL for AWS).`,
    );
  const { moved } = (await response.json()) as { moved: number };
  console.log(`Re-drove ${moved} dead-lettered notification(s) in the local runtime`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
