import * as z from 'zod';
import type { ApiRoute } from './routes';

type Json = Record<string, unknown>;

/** One parameter per `{name}` in the path, typed by the route's params schema. */
export function pathParameters(route: ApiRoute, params: z.core.$ZodType | undefined): Json[] {
  const properties = params ? (z.toJSONSchema(params, { target: 'draft-2020-12', io: 'input' }).properties ?? {}) : {};
  return [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name = '']) => {
    const schema = properties[name];
    if (!schema) throw new Error(`${route.method} ${route.path}: no schema for path parameter ${name}`);
    return { name, in: 'path', required: true, schema };
  });
}

/** One optional parameter per field of the route's query schema. */
export function queryParameters(query: z.core.$ZodType | undefined): Json[] {
  if (!query) return [];
  const schema = z.toJSONSchema(query, { target: 'draft-2020-12', io: 'input' });
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: property,
  }));
}
