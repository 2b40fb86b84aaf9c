import { describe, expect, it } from 'vitest';
import { bundle, BUNDLE_TARGET_BYTES, FUNCTIONS, MAX_BUNDLE_BYTES } from '../../bench/bundles';
import { ALL_FUNCTIONS, type FunctionAccess } from '../../src/runtime/functions';

/**
 * The modules that only a function with that access may hold (its wiring imports the client or
 * providers only then: src/aws/wiring.ts). A stray static import anywhere in a
 * function's graph brings a client back into its bundle, whether or not it is ever constructed.
 */
const ONLY_WITH_ACCESS: Record<keyof FunctionAccess, RegExp> = {
  table: /^node_modules\/@aws-sdk\/(client-dynamodb|lib-dynamodb)\//,
  queue: /^node_modules\/@aws-sdk\/client-sqs\//,
  events: /^node_modules\/@aws-sdk\/client-eventbridge\//,
  // No module of its own: the staff replay's client is the SQS one, held to `queue` above (redrive allows it too).
  redrive: /^$/,
  providers:
    /^(node_modules\/@aws-sdk\/client-secrets-manager\/|node_modules\/@aws-lambda-powertools\/parameters\/|src\/providers\/(wechat|alipay|bank)\/provider\.ts$)/,
};
const allows = (access: FunctionAccess, port: keyof FunctionAccess) =>
  port === 'redrive'
    ? false
    : port === 'table'
      ? access.table !== 'none'
      : port === 'queue'
        ? access.queue || access.redrive === true
        : access[port] === true;

/** Never in a bundle: Lambda's credentials are in the environment (cdk/bundle-aliases.ts). */
const CREDENTIAL_CHAIN =
  /^node_modules\/@aws-sdk\/(credential-provider-(node|ini|sso|process|web-identity|http|login)|nested-clients|token-providers)\//;
/** Never in a bundle: no operation a function calls streams events (cdk/bundle-aliases.ts). */
const EVENT_STREAMS = /^node_modules\/@smithy\/core\/dist-es\/submodules\/event-streams\//;
/** Never in a bundle: DynamoDB endpoint discovery is off, its LRU cache replaced (cdk/bundle-aliases.ts). */
const ENDPOINT_CACHE = /^node_modules\/(@aws-sdk\/endpoint-cache|mnemonist)\//;
/** Classic zod, which holds every check whatever the schemas use: only the OpenAPI generator needs it. */
const CLASSIC_ZOD = /^node_modules\/zod\/v4\/classic\//;

/**
 * Bundled as the CDK bundles them (bench/bundles.ts); sizes are deterministic for a lock file.
 * `import { z } from 'zod'` anywhere brings all of zod back (about 945 KB bundles): this fails then.
 */
describe('function bundles', () => {
  const bundles = new Map(FUNCTIONS.map((fn) => [fn, bundle(fn)]));
  const accessOf = (fn: string) => ALL_FUNCTIONS.find((entry) => entry.fn === fn)!.access;

  it.each(FUNCTIONS)('%s stays within the bundle ceiling', async (fn) => {
    const { code } = await bundles.get(fn)!;

    expect(code.length).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });

  // The known exceptions to the target: the functions holding the provider modules (with their bill parsers).
  it.each(FUNCTIONS.filter((fn) => !accessOf(fn).providers))(
    '%s, without providers, stays within the bundle target',
    async (fn) => {
      const { code } = await bundles.get(fn)!;

      expect(code.length).toBeLessThanOrEqual(BUNDLE_TARGET_BYTES);
    },
  );

  it.each(FUNCTIONS)('%s holds the clients and providers its access allows, and no others', async (fn) => {
    const { inputs } = await bundles.get(fn)!;
    const access = accessOf(fn);

    const held = Object.fromEntries(
      Object.entries(ONLY_WITH_ACCESS).map(([port, modules]) => [port, inputs.some((input) => modules.test(input))]),
    );
    const allowed = Object.fromEntries(
      Object.keys(ONLY_WITH_ACCESS).map((port) => [port, allows(access, port as keyof FunctionAccess)]),
    );
    expect(held).toEqual(allowed);
  });

  it.each(FUNCTIONS)(
    '%s holds no credential provider chain, no event-stream codecs, no endpoint-discovery cache, and classic zod only for the OpenAPI generator',
    async (fn) => {
      const { inputs } = await bundles.get(fn)!;

      expect(inputs.filter((input) => CREDENTIAL_CHAIN.test(input))).toEqual([]);
      expect(inputs.filter((input) => EVENT_STREAMS.test(input))).toEqual([]);
      expect(inputs.filter((input) => ENDPOINT_CACHE.test(input))).toEqual([]);
      expect(inputs.some((input) => CLASSIC_ZOD.test(input))).toBe(fn === 'openapi');
    },
  );
});
