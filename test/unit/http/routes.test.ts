import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_FUNCTIONS } from '../../../src/runtime/functions';
import { API_ROUTES } from '../../../src/http/routes';

const FUNCTIONS_DIR = path.resolve(import.meta.dirname, '../../../functions');
const folders = readdirSync(FUNCTIONS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const handlerSource = (fn: string) => readFileSync(path.join(FUNCTIONS_DIR, fn, 'handler.ts'), 'utf8');

describe('the function list (src/runtime/functions.ts), the route table (src/http/routes.ts) and functions/ agree', () => {
  it('has one entry per functions/* folder, and a folder for every entry', () => {
    expect(ALL_FUNCTIONS.map((entry) => entry.fn).sort()).toEqual([...folders].sort());
  });

  it('gives every HTTP function exactly one route, and routes only to HTTP functions', () => {
    const httpFunctions = ALL_FUNCTIONS.filter((entry) => entry.trigger === 'http').map((entry) => entry.fn);
    expect(API_ROUTES.map((route) => route.fn).sort()).toEqual([...httpFunctions].sort());
  });

  it('declares each route once', () => {
    const keys = API_ROUTES.map((route) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('has every customer and admin handler take its auth, schemas and idempotency from its own entry', () => {
    for (const route of API_ROUTES.filter((entry) => entry.auth !== 'public')) {
      expect(handlerSource(route.fn), route.fn).toContain(`httpRoute(routeOf('${route.fn}')`);
    }
  });

  it('has every handler build its production wiring under its own name, so it gets its own access', () => {
    for (const { fn } of ALL_FUNCTIONS)
      expect(handlerSource(fn), fn).toMatch(
        new RegExp(`export const handler = makeHandler\\(\\s*awsWiring\\('${fn}', `),
      );
  });

  it('gives the provider secret only to functions that call providers, and the openapi function nothing', () => {
    const withProviders = ALL_FUNCTIONS.filter((entry) => entry.access.providers)
      .map((entry) => entry.fn)
      .sort();
    expect(withProviders).toEqual([
      'cancel-order',
      'cancel-payment',
      'expiry-worker',
      'list-payment-methods',
      'payment-callback',
      'reconcile',
      'refund-payment',
      'rerun-reconciliation',
      'retry-refund',
      'start-payment',
      'sweeper',
    ]);
    for (const fn of withProviders)
      expect(handlerSource(fn), fn).toMatch(
        /core\/(payments|orders|callbacks|sweeper|refunds|reconciliation|staff\/(abnormal-refunds|reconciliation-actions))/,
      );
    expect(API_ROUTES.find((route) => route.fn === 'openapi')?.access).toEqual({
      table: 'none',
      providers: false,
      queue: false,
      events: false,
    });
    for (const route of API_ROUTES.filter((entry) => entry.method === 'GET'))
      expect(route.access.table, route.fn).not.toBe('readWrite');
  });
});
