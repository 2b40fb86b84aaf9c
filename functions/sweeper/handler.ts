import type { ScheduledEvent } from 'aws-lambda';
import { awsDeps } from '../../shared/adapters/aws-deps';
import { sweep } from '../../shared/core/sweeper';
import type { DepsProvider } from '../../shared/http/handler';

/** Invoked every minute by an EventBridge schedule: expiry, reminders, lost-callback queries, outbox relay. */
export const makeHandler = (getDeps: DepsProvider) => async (_event: ScheduledEvent) => {
  const deps = await getDeps();
  try {
    return await sweep(deps);
  } finally {
    deps.metrics.flush();
  }
};

export const handler = makeHandler(awsDeps);
