import { describe, expect, it } from 'vitest';
import { bundle, BUNDLE_TARGET_BYTES, FUNCTIONS, MAX_BUNDLE_BYTES } from '../../bench/bundles';
import { ALL_FUNCTIONS, type FunctionAccess } from '../../src/runtime/functions';

/**
 * The modules that only a function with that access may hold (its wiring imports the client or
 * providers only then: src/aws/wiring.ts). A stray static import anywhere in a
 * function's graph brings a client back into its bundle, whether or not it is ever constructed.
 */
const ONLY_WITH_ACCESS: Record<string, { modules: RegExp; allowed: (access: FunctionAccess) => boolean }> = {
  table: {
    modules: /^node_modules\/@aws-sdk\/(client-dynamodb|lib-dynamodb)\//,
    allowed: (access) => access.table !== 'none',
  },
  // The notification queue, the webhook queue, the due-payment queue and the staff replay (redrive) share the SQS client.
  queue: {
    modules: /^node_modules\/@aws-sdk\/client-sqs\//,
    allowed: (access) =>
      access.queue || access.webhookQueue === true || access.redrive === true || access.dueQueue === true,
  },
  events: { modules: /^node_modules\/@aws-sdk\/client-eventbridge\//, allowed: (access) => access.events },
  providers: {
    modules:
      /^(node_modules\/@aws-sdk\/client-secrets-manager\/|node_modules\/@aws-lambda-powertools\/parameters\/|src\/providers\/(wechat|alipay|bank)\/provider\.ts$)/,
    allowed: (access) => access.providers,
  },
  webhookKeys: {
    modules: /^node_modules\/@aws-sdk\/client-kms\//,
    allowed: (access) => access.webhookKeys !== undefined,
  },
};

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

  // The first test waits for every function's bundle, built side by side (one esbuild run per function): minutes on a busy machine.
  it.each(FUNCTIONS)(
    '%s stays within the bundle ceiling',
    async (fn) => {
      const { code } = await bundles.get(fn)!;

      expect(code.length).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
    },
    180_000,
  );

  // The known exceptions to the target: the functions holding the provider modules (with their bill parsers), and
  // the webhook functions holding a second AWS client (KMS, the webhook queue's SQS) or the outbound sender.
  const extraClients = (access: FunctionAccess) =>
    access.providers || access.webhookKeys !== undefined || access.webhookQueue === true;
  it.each(FUNCTIONS.filter((fn) => !extraClients(accessOf(fn))))(
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
      Object.entries(ONLY_WITH_ACCESS).map(([port, { modules }]) => [
        port,
        inputs.some((input) => modules.test(input)),
      ]),
    );
    const allowed = Object.fromEntries(
      Object.entries(ONLY_WITH_ACCESS).map(([port, { allowed: allows }]) => [port, allows(access)]),
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
