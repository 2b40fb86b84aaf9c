import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADMIN_SCOPE } from '../../../src/http/routes';
import { claimsAsText, scopesOf, scopesOfToken } from '../../../src/http/scopes';

/**
 * One reading of a token's scopes: the local gateway's authorizer reads the verified token,
 * the function reads the claims as API Gateway hands them over (text, lists as "[a b]").
 */
const atGateway = (claims: Record<string, unknown>) => scopesOfToken(claims);
const inFunction = (claims: Record<string, unknown>) => scopesOf(claimsAsText(claims));

describe('scopes', () => {
  it.each([
    [{ scope: `openid ${ADMIN_SCOPE}` }, ['openid', ADMIN_SCOPE]],
    [{ scp: ['openid', ADMIN_SCOPE] }, ['openid', ADMIN_SCOPE]],
    [{ scp: `openid ${ADMIN_SCOPE}` }, ['openid', ADMIN_SCOPE]], // scp as a string: space-separated, as API Gateway accepts
    [{ scope: 'openid', scp: [ADMIN_SCOPE] }, ['openid', ADMIN_SCOPE]],
    [{ scope: `orders:read,${ADMIN_SCOPE}` }, [`orders:read,${ADMIN_SCOPE}`]],
    [{ scope: `orders:read\t${ADMIN_SCOPE}` }, [`orders:read\t${ADMIN_SCOPE}`]],
    [{ scope: `[${ADMIN_SCOPE}]` }, []], // reads as a list, and scope is a string
    [{ scope: [ADMIN_SCOPE] }, []], // a JSON list as scope grants nothing
    [{ scope: 42, scp: { admin: true } }, ['42', 'object', 'Object']], // names nobody gave a route
    [{ scope: `  ${ADMIN_SCOPE}  ` }, [ADMIN_SCOPE]],
  ])('%j grants %j, read the same at the gateway and in the function', (claims, scopes) => {
    expect(atGateway(claims)).toEqual(scopes);
    expect(inFunction(claims)).toEqual(scopes);
  });

  it('the gateway and the function agree on the admin scope for any claims', () => {
    const piece = fc.oneof(
      fc.constantFrom(ADMIN_SCOPE, 'openid', '', ' ', ',', '\t', '[', ']'),
      fc.string({ maxLength: 6 }),
    );
    const text = fc.array(piece, { maxLength: 6 }).map((pieces) => pieces.join(''));
    const claim = fc.oneof(
      text,
      fc.array(text, { maxLength: 4 }),
      fc.integer(),
      fc.boolean(),
      fc.array(fc.oneof(text, fc.integer()), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.record({ scope: claim, scp: claim }, { requiredKeys: [] }), (claims) => {
        expect(inFunction(claims).includes(ADMIN_SCOPE)).toBe(atGateway(claims).includes(ADMIN_SCOPE));
      }),
      { numRuns: 2_000, seed: 27 },
    );
  });
});
