import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument, serializeOpenApiDocument } from '../src/http/openapi';

/**
 * `npm run openapi`: writes docs/openapi.json. No server URL: the committed copy is the same for
 * every deployment (each one serves its own, with its URL, at GET /api/openapi.json). A unit test
 * fails while this file is stale.
 */
const file = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
await mkdir(dirname(file), { recursive: true });
await writeFile(file, serializeOpenApiDocument(buildOpenApiDocument()));
console.log(`wrote ${file}`);
