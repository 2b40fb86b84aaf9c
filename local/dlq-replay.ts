import { sqsClient, redriveDeadLetters } from '../shared/adapters/sqs-queue';

/**
 * `npm run dlq:replay`: moves dead-lettered payment notifications back to the worker's queue once
 * their cause is fixed. Against AWS: NOTIFICATION_QUEUE_URL and NOTIFICATION_DLQ_URL (credentials
 * and region from the usual AWS environment). Against `npm start`: asks the local runtime.
 */
async function main() {
  const { NOTIFICATION_QUEUE_URL: queueUrl, NOTIFICATION_DLQ_URL: dlqUrl } = process.env;
  if (queueUrl && dlqUrl) {
    const moved = await redriveDeadLetters(sqsClient(), { queueUrl, dlqUrl });
    console.log(`Re-drove ${moved} dead-lettered notification(s) to ${queueUrl}`);
    return;
  }
  const base = `http://127.0.0.1:${process.env.PORT ?? 3000}`;
  const response = await fetch(`${base}/_local/dlq/replay`, { method: 'POST' }).catch(() => undefined);
  if (!response?.ok) throw new Error(`The local runtime at ${base} did not answer: start it with npm start (or set NOTIFICATION_QUEUE_URL and NOTIFICATION_DLQ_URL for AWS).`);
  const { moved } = (await response.json()) as { moved: number };
  console.log(`Re-drove ${moved} dead-lettered notification(s) in the local runtime`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
