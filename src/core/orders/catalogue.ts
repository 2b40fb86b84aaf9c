import type { Product } from '../../domain/order';
import type { ProductStore } from './ports';

/**
 * How long a container trusts the products it read. A create prices from this copy without a
 * read, and its transaction re-checks each product's price and stock (adjustStock's condition),
 * so a stale copy can cost a retry, never a wrong order.
 */
export const CATALOGUE_CACHE_MS = 30_000;

/**
 * A sold-out answer is trusted this long (refused without a request), then read again: a restock
 * clears the marker, and its units are on sale in every container within this.
 */
export const SOLD_OUT_RECHECK_MS = 2_000;

const isFresh = (cached: Cached | undefined, nowMs: number) =>
  cached !== undefined && cached.readAt > nowMs - (cached.product.soldOut ? SOLD_OUT_RECHECK_MS : CATALOGUE_CACHE_MS);

interface Cached {
  product: Product;
  readAt: number;
}

/** One cache per repository, so per container in Lambda and per test table in tests. */
const caches = new WeakMap<ProductStore, Map<string, Cached>>();

/**
 * The products of `skus`: from this container's copy when it is fresh, else read (one request
 * for all that are missing or older than CATALOGUE_CACHE_MS). `fresh` reads them all again.
 * A SKU with no product is never cached, so a product just added is found on its first order.
 */
export async function productsFor(
  repo: ProductStore,
  skus: readonly string[],
  nowMs: number,
  fresh = false,
): Promise<Map<string, Product>> {
  let cache = caches.get(repo);
  if (!cache) caches.set(repo, (cache = new Map()));
  const wanted = [...new Set(skus)];
  const stale = fresh ? wanted : wanted.filter((sku) => !isFresh(cache.get(sku), nowMs));
  if (stale.length > 0) {
    const read = await repo.getProducts(stale);
    for (const sku of stale) {
      const product = read.get(sku);
      if (product) cache.set(sku, { product, readAt: nowMs });
      else cache.delete(sku);
    }
  }
  return new Map(wanted.flatMap((sku) => (cache.has(sku) ? [[sku, cache.get(sku)!.product] as const] : [])));
}

/** This container marked the product sold out: its copy says so at once, without reading it again. */
export function rememberSoldOut(repo: ProductStore, product: Product, nowMs: number): void {
  caches.get(repo)?.set(product.sku, { product: { ...product, soldOut: true }, readAt: nowMs });
}

/**
 * How old the catalogue a customer lists (GET /api/products) may be. On a sale day every customer's
 * refresh would otherwise read each product and all its stock shards; a create never prices from
 * this copy, and staff read through it.
 */
export const CATALOGUE_LISTING_CACHE_MS = 1_000;

const listings = new WeakMap<ProductStore, { products: Product[]; readAt: number }>();

/** The catalogue with its stock: this container's copy while it is younger than CATALOGUE_LISTING_CACHE_MS. */
export async function catalogueListing(repo: ProductStore, nowMs: number, fresh = false): Promise<Product[]> {
  const cached = listings.get(repo);
  if (!fresh && cached && cached.readAt > nowMs - CATALOGUE_LISTING_CACHE_MS) return cached.products;
  const products = await repo.listProducts();
  listings.set(repo, { products, readAt: nowMs });
  return products;
}
