import type { PaymentTimingConfig } from '../../src/core/kernel/deps';
import type { Write } from '../../src/core/kernel/ports';
import {
  createOrder,
  createPayment,
  type Order,
  type Payment,
  type PaymentStatus,
  priceItems,
  type Product,
  type RequestedItem,
  transitionPayment,
} from '../../src/domain';

/** An order and its first payment, built by the domain functions the create-order use case uses. */
export interface Purchase {
  order: Order;
  payment: Payment;
}

export interface PurchaseInput {
  orderId: string;
  paymentId: string;
  items: RequestedItem[];
  catalogue: readonly Product[];
  now: Date;
  customerId?: string;
  timing?: PaymentTimingConfig;
}

export function newPurchase(input: PurchaseInput): Purchase {
  const customerId = input.customerId ?? 'cust-1';
  const items = priceItems(input.items, new Map(input.catalogue.map((product) => [product.sku, product])));
  const order = createOrder({
    orderId: input.orderId,
    customerId,
    items,
    firstPaymentId: input.paymentId,
    now: input.now,
  });
  const payment = newPayment({
    paymentId: input.paymentId,
    orderId: input.orderId,
    customerId,
    amount: order.totalAmount,
    now: input.now,
    timing: input.timing,
  });
  return { order, payment };
}

export function newPayment(input: {
  paymentId: string;
  orderId: string;
  now: Date;
  customerId?: string;
  amount?: number;
  timing?: PaymentTimingConfig;
}): Payment {
  return createPayment({
    paymentId: input.paymentId,
    orderId: input.orderId,
    customerId: input.customerId ?? 'cust-1',
    amount: input.amount ?? 100,
    method: 'wechat',
    now: input.now,
    timing: input.timing ?? { ttlMinutes: 30, reminderMinutes: 5 },
  });
}

/** The one transaction that places a purchase: order, payment and the stock it reserves. */
export function purchaseWrites({ order, payment }: Purchase): Write[] {
  return [
    { kind: 'createOrder', order },
    { kind: 'createPayment', payment },
    ...order.items.map((item): Write => ({ kind: 'adjustStock', sku: item.sku, delta: -item.quantity })),
  ];
}

/** The write that moves a payment, as read, to `to`. */
export function transitionWrite(
  before: Payment,
  to: PaymentStatus,
  now: Date,
  reason = `moved to ${to}`,
): Extract<Write, { kind: 'updatePayment' }> {
  const source = to === 'processing' || to === 'cancelled' ? 'customer' : 'provider';
  return { kind: 'updatePayment', before, after: transitionPayment(before, { to, now, source, reason }).after };
}
