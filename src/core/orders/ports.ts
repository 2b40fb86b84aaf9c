import type { Order, OrderStatus, Product } from '../../domain/order';
import type { Payment } from '../../domain/payment';
import type { ListWindow, Page } from '../kernel/page';

/** Which orders a list holds: one customer's (their own list, or staff asking about them), of one status. */
export interface OrderFilter {
  customerId?: string;
  status?: OrderStatus;
}

/** A page of orders with the current payment of each (the one that paid it, else the latest). */
export interface OrdersPage extends Page<Order> {
  payments: Payment[];
}

/** Orders as stored: the order item and the customer's count of pending orders. */
export interface OrderStore {
  getOrder(orderId: string): Promise<Order | undefined>;
  /** Pending orders with no open payment since at or before `unpaidSince` (the sweeper cancels them). */
  findUnpaidOrders(unpaidSince: Date, options: { limit: number; cursor?: string }): Promise<Page<Order>>;
  /** Orders newest first: a customer's from their own index partition, else every order's recent shards. */
  listOrders(filter: OrderFilter, window: ListWindow): Promise<OrdersPage>;
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
  | { kind: 'adjustStock'; sku: string; delta: number; price?: number }
  | { kind: 'putProduct'; product: Product }
  /** The catalogue fields of `after`, conditional on `before`'s version (PreconditionFailedError when it moved on). */
  | { kind: 'updateProduct'; before: Product; after: Product }
  /**
   * A new stock layout (PATCH stockShards), conditional on `before`'s version: the shard count, the
   * shard items, and the units moved in or out of the product item's own stock (the shards' moves
   * are placeInShard writes of the same transaction). Clears the sold-out marker.
   */
  | { kind: 'reshardProduct'; before: Product; after: Product; poolDelta: number }
  /** Units into (+) or out of (−, conditional on holding them) the product item's own stock; clears the sold-out marker. */
  | { kind: 'movePoolStock'; sku: string; delta: number };
