import path from 'node:path';
import { ADMIN_SCOPE } from '../shared/http/routes';
import { loadOrCreateIssuerSecret, signDevToken } from './dev-jwt';

/** `npm run token -- <customerId> [--admin]`: a bearer token the local runtime accepts. */
const args = process.argv.slice(2);
const customerId = args.find((arg) => !arg.startsWith('--'));
if (!customerId) {
  console.error('usage: npm run token -- <customerId> [--admin]');
  process.exit(2);
}
const dataDir = path.resolve(process.env.LOCAL_DATA_DIR ?? '.local');
console.log(signDevToken(loadOrCreateIssuerSecret(dataDir), { sub: customerId, scope: args.includes('--admin') ? ADMIN_SCOPE : undefined }));
