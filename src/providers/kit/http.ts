import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderCallError, type ProviderName } from '../../core/payments/provider';

/** The part of `fetch` the providers use (tests hand in stand-ins). */
export type FetchLike = (
  input: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  /** Bills are binary (Alipay's ZIP, a gzipped WeChat file); global fetch has it. */
  arrayBuffer?(): Promise<ArrayBuffer>;
}>;

/** How every outbound provider call is bounded (set per deployment: PROVIDER_TIMEOUT_MS). */
export interface ProviderHttpConfig {
  /** Each attempt is aborted after this long, reading the answer's body included. */
  timeoutMs: number;
  /** Attempts in all, the first included. */
  attempts: number;
  /** Full jitter: before retry n (1-based) a random wait of up to backoffBaseMs × 2^(n-1). */
  backoffBaseMs: number;
  /**
   * Payment queries and closes (the expiry wave's calls) one container may make per second and
   * merchant: the merchant's rate (PROVIDER_CALLS_PER_SECOND) over the expiry worker's concurrency.
   */
  backgroundCallsPerSecond?: number;
}

/** Per merchant, for queries and closes: well under WeChat's ~600/s for creates, so checkouts keep their room. */
export const DEFAULT_PROVIDER_CALLS_PER_SECOND = 100;

/**
 * 3 attempts of 2 s and at most 0.3 s of waits: 6.3 s at worst, inside the API functions' 10 s
 * timeout with room for the reads and writes around the call; and a sweeper run that starts a
 * payment's query and close (2 × 6.3 s) just before its 40 s budget ends still ends inside its
 * 60 s timeout.
 */
export const DEFAULT_PROVIDER_HTTP: ProviderHttpConfig = {
  timeoutMs: 2_000,
  attempts: 3,
  backoffBaseMs: 100,
  backgroundCallsPerSecond: DEFAULT_PROVIDER_CALLS_PER_SECOND,
};

export interface ProviderRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Read the answer as bytes too (bill files); `body` is then their UTF-8 reading. */
  binary?: boolean;
}

export interface ProviderAnswer {
  status: number;
  headers: { get(name: string): string | null };
  body: string;
  /** The answer's bytes, when the request asked for `binary`. */
  bytes?: Buffer;
}

/** 5xx and 429 may go through on another try; any other answer is the provider's word and would come back the same. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** Sends a request to the provider; `operation` names it in errors. */
export type ProviderSender = (operation: string, request: () => ProviderRequest) => Promise<ProviderAnswer>;

/**
 * Sends one provider request: `request` builds (and signs) each attempt afresh, so WeChat's
 * Authorization nonce is never sent twice. Network errors, timeouts, 5xx and 429 are retried up to
 * `attempts`; any other answer is returned at once, for the provider module to read. Out of
 * attempts, the last HTTP answer is returned (its error code is worth reporting) and a last
 * network error or timeout is a retryable ProviderCallError. Every call we make is safe to
 * repeat: queries and closes are idempotent, and an order is created once per out_trade_no.
 */
export function providerSender(provider: ProviderName, fetch: FetchLike, config: ProviderHttpConfig): ProviderSender {
  return async (operation, request) => {
    for (let attempt = 1; ; attempt++) {
      const outcome = await attemptOnce(fetch, request(), config.timeoutMs);
      const failed = typeof outcome === 'string';
      if (!failed && (!isRetryableStatus(outcome.status) || attempt >= config.attempts)) return outcome;
      if (failed && attempt >= config.attempts)
        throw new ProviderCallError(provider, operation, `${outcome} (attempt ${attempt} of ${config.attempts})`);
      await sleep(Math.random() * config.backoffBaseMs * 2 ** (attempt - 1));
    }
  };
}

/** One attempt: the answer, or why there is none. */
async function attemptOnce(
  fetch: FetchLike,
  { url, method, headers, body, binary }: ProviderRequest,
  timeoutMs: number,
): Promise<ProviderAnswer | string> {
  try {
    const response = await fetch(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!binary) return { status: response.status, headers: response.headers, body: await response.text() };
    if (!response.arrayBuffer) return 'this fetch cannot read binary answers';
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body: bytes.toString('utf8'), bytes };
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
    const cause =
      error instanceof Error && error.cause instanceof Error && 'code' in error.cause
        ? `, ${String(error.cause.code)}`
        : '';
    return `request failed (${error instanceof Error ? error.name : 'unknown error'}${cause})`;
  }
}
