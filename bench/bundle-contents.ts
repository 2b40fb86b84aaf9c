import { fileURLToPath } from 'node:url';
import { bundle, FUNCTIONS } from './bundles';

/**
 * Where a function bundle's bytes go, for work on the bundle target (bench/bundles.ts):
 * `npx tsx bench/bundle-contents.ts <function>` sums them by package (a nested copy such as
 * Powertools logger's own commons counted apart) and source folder;
 * `npx tsx bench/bundle-contents.ts <function> <text>` lists the modules whose path contains the text.
 */

/** The package, or the source folder, a module of the bundle belongs to. */
function ownerOf(path: string): string {
  const pkg = /^node_modules\/((?:.*\/node_modules\/)?(?:@[^/]+\/)?[^/]+)/.exec(path);
  return pkg ? pkg[1]! : path.split('/').slice(0, -1).join('/') || path;
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1).padStart(7);

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [fn, text] = process.argv.slice(2);
  if (!fn || !FUNCTIONS.includes(fn))
    throw new Error(`usage: bench/bundle-contents.ts <function> [path text]; functions: ${FUNCTIONS.join(', ')}`);
  const { code, bytesByInput } = await bundle(fn);
  const rows = new Map<string, number>();
  for (const [path, bytes] of Object.entries(bytesByInput)) {
    if (text === undefined) rows.set(ownerOf(path), (rows.get(ownerOf(path)) ?? 0) + bytes);
    else if (path.includes(text)) rows.set(path, bytes);
  }
  console.log(`${fn}: ${kib(code.length).trim()} KiB`);
  for (const [name, bytes] of [...rows].sort((a, b) => b[1] - a[1])) console.log(`${kib(bytes)}  ${name}`);
}
