import { describe, expect, it } from 'vitest';
import { bundle, FUNCTIONS, MAX_BUNDLE_BYTES } from '../../bench/bundles';

/**
 * Bundled as the CDK bundles them (bench/bundles.ts); sizes are deterministic for a lock file.
 * `import { z } from 'zod'` anywhere brings all of zod back (about 945 KB bundles): this fails then.
 */
describe('function bundles', () => {
  it.each(FUNCTIONS)('%s stays within the bundle ceiling', async (fn) => {
    const bytes = (await bundle(fn)).length;

    expect(bytes).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });
});
