/**
 * What each folder of src/ may import (docs/ARCHITECTURE.md#code-layout). Imports inside src/ are
 * relative, so each rule is written per depth below src/: at depth d, `../` taken d times reaches
 * src/ itself, and one more leaves it (src/ imports nothing from local/, test/, bench/, cdk/ or
 * functions/).
 */
const LAYERS = ['domain', 'core', 'providers', 'persistence', 'http', 'runtime', 'aws', 'client'];

/** Node modules that do I/O, and the SDKs: none of them in the pure layers. */
const IO = [
  '@aws-sdk/*',
  '@aws-lambda-powertools/*',
  '@middy/*',
  'node:fs*',
  'node:http*',
  'node:net',
  'node:child_process',
];

/**
 * Per layer: the other layers it may not import, the core modules it may use when not all of
 * core (a regex on the path inside core/), and whether I/O packages are refused.
 */
const RULES = {
  domain: {
    refused: LAYERS.filter((layer) => layer !== 'domain'),
    io: true,
    why: 'the domain is pure: it imports nothing outside src/domain',
  },
  core: {
    refused: ['providers', 'persistence', 'http', 'runtime', 'aws', 'client'],
    io: true,
    why: 'core imports only the domain and core',
  },
  providers: {
    refused: ['persistence', 'http', 'runtime', 'aws', 'client'],
    core: 'payments/provider|kernel/zod-english',
    why: "providers implement core's provider port: they import the domain, core/payments/provider.ts and nothing else of core, and take their configuration in",
  },
  persistence: {
    refused: ['providers', 'http', 'runtime', 'aws', 'client'],
    core: '.*(ports|/provider|/page)',
    why: "persistence implements core's ports: it imports the domain and core's port modules (…ports.ts, provider.ts, page.ts) only, and takes its table in",
  },
  http: { refused: ['providers', 'persistence', 'aws', 'client'], why: 'http imports core, the domain and runtime' },
  runtime: {
    refused: ['providers', 'persistence', 'http', 'aws', 'client'],
    why: 'runtime imports core and the domain',
  },
  aws: { refused: ['http', 'client'], why: 'the AWS adapters and wiring import anything but http' },
  client: {
    refused: ['providers', 'persistence', 'runtime', 'aws'],
    why: 'the client imports the API types only (http, core views, domain)',
  },
};

function patternsFor(layer, depth) {
  const up = `(\\.\\./){${depth}}`;
  const { refused, core, io, why } = RULES[layer];
  return [
    ...(refused.length
      ? [{ regex: `^${up}(${refused.join('|')})(/|$)`, message: `Not from src/${layer}: ${why}.` }]
      : []),
    ...(core ? [{ regex: `^${up}core/(?!(${core})$)`, message: `Not from src/${layer}: ${why}.` }] : []),
    { regex: `^${up}\\.\\./`, message: `src/${layer} imports nothing outside src/.` },
    ...(io ? [{ group: IO, message: `Not from src/${layer}: ${why} (no AWS SDK, middleware or I/O).` }] : []),
  ];
}

/** One flat-config entry per layer and depth (files directly in src/<layer>/ are depth 1). */
export const boundaries = LAYERS.flatMap((layer) =>
  [1, 2, 3].map((depth) => ({
    files: [`src/${layer}/${'*/'.repeat(depth - 1)}*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: patternsFor(layer, depth) }] },
  })),
);
