/**
 * The one reading of a token's scopes, used by the local gateway's authorizer and by every
 * handler, so the gateway and the function can never disagree on who is staff.
 *
 * It reads the claims in the form the function receives them: API Gateway hands claims to a
 * function as text, a list as `[a b]` (`claimsAsText`). The authorizer turns the verified token's
 * claims into that form first, then reads it the same way. The rules (docs/API.md#authentication):
 * - `scope` is a space-separated string (RFC 6749 §3.3). A list (`[a b]`) is no scope: the claim
 *   is a string by definition.
 * - `scp` is a space-separated string or a list of strings.
 * - Only the space separates: a comma, a tab or a bracket is part of a scope's name, so
 *   `orders:read,payments:admin` or `[payments:admin]` as a `scope` never equals `payments:admin`.
 */

/** Claims as API Gateway's JWT authorizer passes them to a function: text values, lists as "[a b]". */
export function claimsAsText(claims: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(claims).map(([name, value]) => [
      name,
      Array.isArray(value) ? `[${value.join(' ')}]` : String(value),
    ]),
  );
}

/** The scopes the token grants, from its claims as text (a claim that is not text grants nothing). */
export function scopesOf(claims: Readonly<Record<string, unknown>>): string[] {
  const scope = typeof claims.scope === 'string' ? claims.scope : undefined;
  const scp = typeof claims.scp === 'string' ? claims.scp : undefined;
  const fromScope = scope === undefined || isList(scope) ? [] : spaceSeparated(scope);
  const fromScp = scp === undefined ? [] : spaceSeparated(isList(scp) ? scp.slice(1, -1) : scp);
  return [...new Set([...fromScope, ...fromScp])];
}

/** The scopes of a verified token's claims (JSON values), read exactly as the function will read them. */
export function scopesOfToken(claims: Readonly<Record<string, unknown>>): string[] {
  return scopesOf(claimsAsText(claims));
}

const isList = (text: string) => text.startsWith('[') && text.endsWith(']');
const spaceSeparated = (text: string) => text.split(' ').filter((scope) => scope !== '');
