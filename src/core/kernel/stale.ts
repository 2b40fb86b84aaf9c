import { StaleStateError } from '../../domain/errors';

/**
 * Runs a read-decide-write step again when its conditional write lost a race: the next read sees
 * what the winner did and decides anew (an order a concurrent request already cancelled answers
 * as cancelled). Only a race that keeps being lost `attempts` times surfaces as STALE_STATE.
 */
export async function decideAgainOnStale<T>(step: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof StaleStateError) || attempt >= attempts) throw error;
    }
  }
}
