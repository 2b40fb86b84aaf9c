import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nagAcknowledgments } from '../../cdk/nag-suppressions';
import { PROJECT_ROOT } from '../../cdk/payments-function';
import { ALL_FUNCTIONS } from '../../src/runtime/functions';
import { TEST_CONTEXT, synth } from './synth';

const run = promisify(execFile);

/** Imports each bundle (file URLs in argv) in plain Node, as Lambda does, and prints typeof its `handler`. */
const LOAD_BUNDLES =
  'const types = []; for (const url of process.argv.slice(1)) types.push(typeof (await import(url)).handler); console.log(JSON.stringify(types));';

type Template = { Resources: Record<string, { Type: string; Properties: { Code: { S3Key: string } } }> };

// The one synth that bundles: every other CDK test skips bundling.
describe('cdk synth on the command line', () => {
  it(
    'synthesizes offline with cdk-nag, its acknowledgments recorded, and bundles every function into an ESM file that loads and exports handler',
    { timeout: 300_000 },
    async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'payments-cdk-'));
      try {
        const out = join(scratch, 'cdk.out');
        const context = Object.entries(TEST_CONTEXT).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
        await run('npx', ['cdk', 'synth', '--no-notices', '-q', '-o', out, ...context], {
          cwd: PROJECT_ROOT,
          env: { ...process.env, CDK_HOME: scratch, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
          maxBuffer: 16 * 1024 * 1024,
        });
        const template = JSON.parse(readFileSync(join(out, 'Payments.template.json'), 'utf8')) as Template;
        const bundles = Object.values(template.Resources)
          .filter((resource) => resource.Type === 'AWS::Lambda::Function')
          .map((fn) => join(out, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs'));
        expect(bundles).toHaveLength(ALL_FUNCTIONS.length);
        for (const bundle of bundles) {
          expect(existsSync(bundle), bundle).toBe(true);
          const code = readFileSync(bundle, 'utf8');
          // Active tracing is Lambda's own; no X-Ray SDK rides along.
          expect(code, bundle).not.toMatch(/aws-xray-sdk/);
          // cdk/bundle-aliases.ts applied: the environment's credentials, not the SDK's default chain
          // (whose providers log "@aws-sdk/credential-provider-<name> - <function>").
          expect(code, bundle).not.toMatch(/@aws-sdk\/credential-provider-[a-z-]+ - /);
        }
        const { stdout } = await run(
          process.execPath,
          ['--input-type=module', '-e', LOAD_BUNDLES, ...bundles.map((bundle) => pathToFileURL(bundle).href)],
          {
            env: { ...process.env, AWS_REGION: 'ap-east-1' },
          },
        );
        expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual(bundles.map(() => 'function'));

        // cdk/app.ts applied every acknowledgment of nag-suppressions.ts (and nag let the synth through).
        const metadata = readFileSync(join(out, 'Payments.metadata.json'), 'utf8');
        for (const { id } of nagAcknowledgments(synth({}, { bare: true }).stack))
          expect(metadata, id).toContain(JSON.stringify(id).slice(1, -1));
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  );
});
