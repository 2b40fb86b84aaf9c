import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Deps } from '../core/kernel/deps';

/**
 * What a handler module is built with (`makeHandler(wiring)`): awsWiring(<function>) in Lambda
 * (src/aws/wiring.ts), localWiring in the local runtime and tests.
 */
export interface Wiring {
  /** This invocation's dependencies; called once at the start of every invocation. */
  deps: () => Promise<Deps>;
  /** Around every invocation, outermost: Powertools logging context and metrics flush in Lambda. */
  observability: readonly middy.MiddlewareObj[];
}

/** In-process wiring: these deps, and no middleware (metrics are recorded in memory, nothing to flush). */
export function localWiring(deps: () => Promise<Deps>): Wiring {
  return { deps, observability: [] };
}

/** Every handler of the service: its core inside the wiring's observability middleware. */
export function lambdaHandler<Event, Result>(
  wiring: Wiring,
  core: (event: Event, context: Context) => Promise<Result>,
) {
  return middy(core).use([...wiring.observability] as middy.MiddlewareObj<Event, Result>[]);
}
