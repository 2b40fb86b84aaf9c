import type { Order, Product } from '../../domain/order';
import { effectiveStatus, type Payment } from '../../domain/payment';

/** What customers see of an order: the business fields, none of the bookkeeping. */
export function orderView(order: Order) {
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    status: order.status,
    items: order.items,
    totalAmount: order.totalAmount,
    currency: order.currency,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
    ...(order.openPaymentId ? { openPaymentId: order.openPaymentId } : {}),
    ...(order.paidAt ? { paidAt: order.paidAt, paidByPaymentId: order.paidByPaymentId } : {}),
    ...(order.refundedAmount ? { refundedAmount: order.refundedAmount } : {}),
    ...(order.refundedAt ? { refundedAt: order.refundedAt } : {}),
    ...(order.cancelledAt
      ? { cancelledAt: order.cancelledAt, ...(order.cancelReason ? { cancelReason: order.cancelReason } : {}) }
      : {}),
  };
}

/** A payment as customers see it; an open payment past its expiry already reads `expired`. */
export function paymentView(payment: Payment, now: Date) {
  return {
    paymentId: payment.paymentId,
    orderId: payment.orderId,
    amount: payment.amount,
    currency: payment.currency,
    method: payment.method,
    status: effectiveStatus(payment, now),
    expiresAt: payment.expiresAt,
    createdAt: payment.createdAt,
    updatedAt: payment.updatedAt,
    ...(payment.payUrl ? { payUrl: payment.payUrl } : {}),
    ...(payment.scene ? { scene: payment.scene } : {}),
    ...(payment.tradeType ? { tradeType: payment.tradeType } : {}),
    ...(payment.paidAt ? { paidAt: payment.paidAt } : {}),
    ...(payment.providerTransactionId ? { providerTransactionId: payment.providerTransactionId } : {}),
    ...(payment.latePayment ? { latePayment: true } : {}),
    ...(payment.refundRequired ? { refundRequired: true } : {}),
    ...(payment.refundedAmount ? { refundedAmount: payment.refundedAmount } : {}),
    ...(payment.needsReview ? { needsReview: true } : {}),
    logs: payment.logs,
  };
}

export type OrderView = ReturnType<typeof orderView>;
export type PaymentView = ReturnType<typeof paymentView>;

/** A product as the catalogue shows it: a sharded product's stock is the sum of its shards. */
export function productView(product: Product) {
  return {
    sku: product.sku,
    name: product.name,
    price: product.price,
    stock: product.stock,
    ...((product.stockShards ?? 1) > 1 ? { stockShards: product.stockShards } : {}),
    ...(product.soldOut ? { soldOut: true } : {}),
    ...(product.maxPerCustomer ? { maxPerCustomer: product.maxPerCustomer } : {}),
  };
}
