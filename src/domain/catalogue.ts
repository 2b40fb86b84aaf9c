import { ValidationError } from './errors';
import type { Fen } from './money';
import type { Product } from './order';

/**
 * What a person may change of a product (PATCH /api/products/{sku}). Each field is optional and
 * applied as given; a later field (per-customer limits, sharded stock) is one more entry here, in
 * the request schema and in the update's SET list. Stock is not here: it moves by conditional
 * increments only (adjustStock), so a change of name or price never races an order's reservation.
 */
export interface ProductPatch {
  name?: string;
  price?: Fen;
  active?: boolean;
}

export const PATCHABLE_PRODUCT_FIELDS = ['name', 'price', 'active'] as const satisfies ReadonlyArray<
  keyof ProductPatch
>;

export const productVersion = (product: Pick<Product, 'version'>): number => product.version ?? 1;

/** The product with the patch applied and its version moved on; an empty patch is refused. */
export function patchedProduct(product: Product, patch: ProductPatch): Product {
  const changes = Object.fromEntries(
    PATCHABLE_PRODUCT_FIELDS.filter((field) => patch[field] !== undefined).map((field) => [field, patch[field]]),
  );
  if (Object.keys(changes).length === 0) throw new ValidationError('Nothing to change: send name, price or active');
  return { ...product, ...changes, version: productVersion(product) + 1 };
}

/** A person's stock adjustment: a whole number of units, never zero. */
export function assertAdjustment(adjust: number): number {
  if (!Number.isSafeInteger(adjust) || adjust === 0)
    throw new ValidationError('adjust must be a non-zero whole number of units', { adjust });
  return adjust;
}
