import { ADMIN_SCOPE } from '../src/http/routes';
import { loadOrCreateDevIssuer } from './dev-jwt';
import { localBaseUrl, localDataDir, localPort } from './settings';

/** `npm run token -- <customerId> [--admin]`: a bearer token the local runtime (same PORT and LOCAL_DATA_DIR) accepts. */
const args = process.argv.slice(2);
const customerId = args.find((arg) => !arg.startsWith('--'));
if (!customerId) {
  console.error('usage: npm run token -- <customerId> [--admin]');
  process.exit(2);
}
const issuer = await loadOrCreateDevIssuer(localDataDir(), localBaseUrl(localPort()));
console.log(await issuer.sign({ sub: customerId, scope: args.includes('--admin') ? ADMIN_SCOPE : undefined }));
