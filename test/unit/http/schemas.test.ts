import { describe, expect, it } from 'vitest';
import { toErrorResponse } from '../../../src/http/errors';
import { CreateOrderBody, CreateProductBody } from '../../../src/http/schemas';

/** What a 400 answers for `body` (the schemas are zod/mini, which ships no messages of its own). */
const refusal = (schema: { parse(value: unknown): unknown }, body: unknown) => {
  try {
    schema.parse(body);
  } catch (error) {
    return toErrorResponse(error);
  }
  throw new Error('accepted');
};

describe('request schemas (src/http/schemas.ts)', () => {
  it('answer 400 VALIDATION_FAILED with an English message per problem, ours where we wrote one', () => {
    const response = refusal(CreateOrderBody, {
      items: [{ sku: 'TEA', quantity: 0 }],
      paymentMethod: 'cash',
      coupon: 'FREE',
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'The request is invalid',
      details: [
        { path: 'items.0.quantity', message: 'quantity must be at least 1' },
        { path: 'paymentMethod', message: 'Invalid option: expected one of "wechat"|"alipay"|"bank"' },
        { path: '', message: 'Unrecognized key: "coupon"' },
      ],
    });
  });

  it('name the bound that was crossed and the type that was expected', () => {
    const response = refusal(CreateProductBody, { sku: 'TEA', name: '', price: 1.5, stock: -1 });

    expect(response.body.error.details).toEqual([
      { path: 'name', message: 'Too small: expected string to have >=1 characters' },
      { path: 'price', message: 'Invalid input: expected int, received number' },
      { path: 'stock', message: 'Too small: expected number to be >=0' },
    ]);
  });
});
