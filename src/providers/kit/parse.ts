import type * as z from 'zod/mini';

/** JSON text → a value, or undefined when it is not JSON (never throws). */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** JSON text checked against a schema; undefined when either fails (never throws). */
export function parseJson<T>(text: string, schema: z.ZodMiniType<T>): T | undefined {
  const result = schema.safeParse(parseJsonText(text));
  return result.success ? result.data : undefined;
}
