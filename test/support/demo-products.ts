import type { Product } from '../../src/domain/order';

/** The catalogue most tests seed (a DynamoDB-free module: unit tests import it too). */
export const DEMO_PRODUCTS: Product[] = [
  { sku: 'TEA-001', name: 'Longjing tea 250 g', price: 12_800, stock: 100 },
  { sku: 'CUP-002', name: 'Celadon cup', price: 4_550, stock: 5 },
  { sku: 'PEN-003', name: 'Brush pen', price: 1, stock: 1_000 },
];
