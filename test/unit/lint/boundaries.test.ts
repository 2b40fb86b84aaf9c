import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { boundaries } from '../../../eslint.boundaries.js';

/** Only the boundary rules (eslint.boundaries.js), on a file that would live at `path`. */
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...boundaries],
});

async function refused(path: string, source: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import ${source};\n`, { filePath: path });
  return result!.messages.some((message) => message.ruleId === 'no-restricted-imports');
}

describe('the boundary rules (eslint.boundaries.js)', () => {
  it.each([
    ['src/domain/order.ts', "{ x } from '../core/kernel/deps'"],
    ['src/domain/order.ts', "{ x } from '@aws-sdk/client-dynamodb'"],
    ['src/domain/order.ts', "{ x } from '../../local/settings'"],
    ['src/core/orders/orders.ts', "{ x } from '../../persistence/keys'"],
    ['src/core/orders/orders.ts', "{ x } from '../../aws/env'"],
    ['src/core/orders/orders.ts', "{ x } from '../../providers/registry'"],
    ['src/core/orders/orders.ts', "{ x } from '../../http/routes'"],
    ['src/core/orders/orders.ts', "middy from '@middy/core'"],
    ['src/providers/wechat/api.ts', "{ x } from '../../core/payments/payments'"],
    ['src/providers/wechat/api.ts', "{ x } from '../../aws/env'"],
    ['src/providers/registry.ts', "{ x } from '../aws/env'"],
    ['src/providers/registry.ts', "{ x } from '../http/routes'"],
    ['src/persistence/orders.ts', "{ x } from '../core/orders/orders'"],
    ['src/persistence/orders.ts', "{ x } from '../aws/env'"],
    ['src/http/route.ts', "{ x } from '../persistence/dynamo-repository'"],
    ['src/http/route.ts', "{ x } from '../aws/wiring'"],
    ['src/runtime/wiring.ts', "{ x } from '../http/routes'"],
    ['src/runtime/wiring.ts', "{ x } from '../aws/env'"],
    ['src/aws/wiring.ts', "{ x } from '../http/route'"],
  ])('%s may not import %s', async (path, source) => {
    expect(await refused(path, source)).toBe(true);
  });

  it.each([
    ['src/domain/order.ts', "{ x } from './money'"],
    ['src/core/orders/orders.ts', "{ x } from '../../domain/order'"],
    ['src/core/orders/orders.ts', "{ x } from '../payments/payments'"],
    ['src/core/orders/orders.ts', "{ x } from '../kernel/ports'"],
    ['src/providers/wechat/api.ts', "{ x } from '../../core/payments/provider'"],
    ['src/providers/wechat/api.ts', "{ x } from '../http'"],
    ['src/providers/wechat/api.ts', "'../../core/kernel/zod-english'"],
    ['src/persistence/orders.ts', "{ x } from '../core/orders/ports'"],
    ['src/persistence/orders.ts', "{ x } from '../core/payments/notification-ports'"],
    ['src/persistence/orders.ts', "{ x } from '@aws-sdk/lib-dynamodb'"],
    ['src/http/route.ts', "{ x } from '../runtime/wiring'"],
    ['src/http/route.ts', "{ x } from '../core/kernel/deps'"],
    ['src/aws/wiring.ts', "{ x } from '../persistence/dynamo-repository'"],
    ['src/aws/wiring.ts', "{ x } from '../providers/registry'"],
  ])('%s may import %s', async (path, source) => {
    expect(await refused(path, source)).toBe(false);
  });
});
