/**
 * What every AWS SDK client of this service is built with, so no call waits unbounded: 1 s to
 * connect, 2 s for the answer (a TimeoutError: without `throwOnRequestTimeout` the SDK only warns)
 * and at most 3 attempts. Worst case about 7 s, inside the API functions' 10 s timeout.
 */
export const AWS_CLIENT_LIMITS = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
};
