import type { Order, Product } from '../../domain/order';
import type { Page } from '../kernel/page';

/** Orders as stored: the order item and the customer's count of pending orders. */
export interface OrderStore {
  getOrder(orderId: string): Promise<Order | undefined>;
  /** Pending orders with no open payment since at or before `unpaidSince` (the sweeper cancels them). */
  findUnpaidOrders(unpaidSince: Date, options: { limit: number; cursor?: string }): Promise<Page<Order>>;
}

export type OrderWrite =
  | { kind: 'createOrder'; order: Order }
  /** Replaces the order, conditional on the version, status and open-payment slot that were read. */
  | { kind: 'updateOrder'; before: Order; after: Order }
  /** The customer's count of pending orders; a rise is conditional on staying within `limit`. */
  | { kind: 'countPendingOrders'; customerId: string; delta: number; limit?: number };

/** The catalogue: products with their price and stock. */
export interface ProductStore {
  getProducts(skus: readonly string[]): Promise<Map<string, Product>>;
  listProducts(): Promise<Product[]>;
}

export type ProductWrite =
  /** Negative: reserve (conditional on enough stock, and on the price when given); positive: release. */
  { kind: 'adjustStock'; sku: string; delta: number; price?: number } | { kind: 'putProduct'; product: Product };
