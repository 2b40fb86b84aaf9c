import path from 'node:path';
import { intEnv } from '../src/aws/env';

/**
 * Where `npm start` listens and keeps its data, read the same way by every local command
 * (start, token, demo), so they find each other with no configuration.
 */
export const LOCAL_HOST = '127.0.0.1';

export const localPort = (env: NodeJS.ProcessEnv = process.env) => intEnv('PORT', 3000, env, [1, 65_535]);

export const localBaseUrl = (port: number, host = LOCAL_HOST) => `http://${host}:${port}`;

export const localDataDir = (env: NodeJS.ProcessEnv = process.env) => path.resolve(env.LOCAL_DATA_DIR ?? '.local');
