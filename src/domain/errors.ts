/**
 * Typed domain errors. Each carries a machine-readable `code`; the HTTP layer maps codes to
 * statuses in one table (src/http/errors.ts), so the domain never speaks HTTP.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, details?: unknown) {
    super('VALIDATION_FAILED', message, details);
  }
}

export class InvalidAmountError extends DomainError {
  constructor(input: unknown, why: string) {
    super('INVALID_AMOUNT', `Invalid amount ${JSON.stringify(input)}: ${why}`);
  }
}

export class UnknownProductError extends DomainError {
  constructor(readonly skus: string[]) {
    super('UNKNOWN_SKU', `Unknown product(s): ${skus.join(', ')}`, { skus });
  }
}

export class OutOfStockError extends DomainError {
  constructor(
    readonly sku: string,
    readonly requested?: number,
    readonly available?: number,
  ) {
    super('OUT_OF_STOCK', `Not enough stock for ${sku}`, { sku, requested, available });
  }
}

export class NotFoundError extends DomainError {
  constructor(
    readonly entity: 'order' | 'payment' | 'product' | 'refund' | 'difference' | 'dead letter',
    readonly id: string,
  ) {
    super(`${entity.toUpperCase().replace(' ', '_')}_NOT_FOUND`, `No ${entity} ${id}`, { [`${entity}Id`]: id });
  }
}

export class AlreadyExistsError extends DomainError {
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super('ALREADY_EXISTS', `${entity} ${id} already exists`, { entity, id });
  }
}

export class InvalidTransitionError extends DomainError {
  constructor(
    readonly entity: 'payment' | 'order' | 'refund',
    readonly from: string,
    readonly to: string,
  ) {
    super('INVALID_TRANSITION', `A ${entity} cannot go from ${from} to ${to}`, { entity, from, to });
  }
}

/** The record changed between our read and our conditional write: re-read and decide again. */
export class StaleStateError extends DomainError {
  constructor(
    readonly entity: string,
    readonly id: string,
    readonly current?: { status?: string; version?: number },
  ) {
    super('STALE_STATE', `${entity} ${id} was changed concurrently`, { entity, id, current });
  }
}

export class OrderNotPendingError extends DomainError {
  constructor(
    readonly orderId: string,
    readonly status: string,
  ) {
    super('ORDER_NOT_PENDING', `Order ${orderId} is ${status}, not pending`, { orderId, status });
  }
}

export class PaymentAlreadyOpenError extends DomainError {
  constructor(
    readonly orderId: string,
    readonly openPaymentId?: string,
  ) {
    super('PAYMENT_ALREADY_OPEN', `Order ${orderId} already has an open payment`, { orderId, openPaymentId });
  }
}

/** An expired payment its provider may still accept for a little while (no close API): pay again after `retryAt`. */
export class TooManyPendingOrdersError extends DomainError {
  constructor(readonly limit: number) {
    super(
      'TOO_MANY_PENDING_ORDERS',
      `You already have ${limit} unpaid orders; pay or cancel one before ordering more`,
      { limit },
    );
  }
}

/** An expired payment its provider may still accept for a little while (no close API): pay again after `retryAt`. */
export class PaymentClosingError extends DomainError {
  constructor(
    readonly paymentId: string,
    retryAt: Date,
  ) {
    super(
      'PAYMENT_CLOSING',
      `Payment ${paymentId} has expired, but its provider may accept it until ${retryAt.toISOString()}; pay again after that`,
      {
        paymentId,
        retryAt: retryAt.toISOString(),
      },
    );
  }
}

export class PaymentUnderReviewError extends DomainError {
  constructor(
    readonly paymentId: string,
    reason?: string,
  ) {
    super(
      'PAYMENT_UNDER_REVIEW',
      `Payment ${paymentId} is held for review by our staff; it cannot be changed until they resolve it`,
      { paymentId, reason },
    );
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body');
  }
}

/** A refund asked of a payment that holds no money to give back (not succeeded). */
export class PaymentNotRefundableError extends DomainError {
  constructor(
    readonly paymentId: string,
    status: string,
  ) {
    super('PAYMENT_NOT_REFUNDABLE', `Payment ${paymentId} is ${status}; only a succeeded payment can be refunded`, {
      paymentId,
      status,
    });
  }
}

export class RefundExceedsRefundableError extends DomainError {
  constructor(
    readonly paymentId: string,
    requested: number,
    refundable: number,
  ) {
    super('REFUND_EXCEEDS_REFUNDABLE', `Payment ${paymentId} has ${refundable} fen left to refund, not ${requested}`, {
      paymentId,
      requested,
      refundableAmount: refundable,
    });
  }
}

export class RefundWindowClosedError extends DomainError {
  constructor(
    readonly paymentId: string,
    closedAt: string,
  ) {
    super(
      'REFUND_WINDOW_CLOSED',
      `Payment ${paymentId} can no longer be refunded: its refund window closed at ${closedAt}`,
      { paymentId, closedAt },
    );
  }
}

export class RefundLimitReachedError extends DomainError {
  constructor(
    readonly paymentId: string,
    limit: number,
  ) {
    super('REFUND_LIMIT_REACHED', `Payment ${paymentId} already has ${limit} refunds, the most a provider accepts`, {
      paymentId,
      limit,
    });
  }
}

/** A refund asks to put back more of an item than its order took less what earlier refunds return (or the order's stock was already released). */
export class RestockExceedsOrderError extends DomainError {
  constructor(
    readonly orderId: string,
    readonly sku: string,
    readonly requested: number,
    readonly returnable: number,
  ) {
    super(
      'RESTOCK_EXCEEDS_ORDER',
      `Order ${orderId} can return ${returnable} more of ${sku} to stock, not ${requested}`,
      {
        orderId,
        sku,
        requested,
        returnable,
      },
    );
  }
}

/** The table refused the write for capacity (a hot partition) after bounded retries: nothing was written, try again. */
export class CapacityExceededError extends DomainError {
  constructor() {
    super('CAPACITY_EXCEEDED', 'Too many requests for this item right now; nothing was written, try again shortly');
  }
}

/**
 * A staff action on something that no longer waits for it (another person settled it, or the
 * system did): 409 with the item as it stands now, so the caller sees what happened.
 */
export class NoLongerWaitingError extends DomainError {
  constructor(
    readonly entity: string,
    readonly id: string,
    current: unknown,
    why: string,
  ) {
    super('NO_LONGER_WAITING', `${entity} ${id} ${why}`, { entity, id, current });
  }
}

/** A parked payment whose provider report cannot be taken as it stands (not a success in our currency from its own provider). */
export class ReviewNotSettleableError extends DomainError {
  constructor(
    readonly paymentId: string,
    why: string,
  ) {
    super('REVIEW_NOT_SETTLEABLE', `Payment ${paymentId} cannot be settled this way: ${why}`, { paymentId });
  }
}

/** A write conditional on a version the caller read (If-Match) found another one: read it again. */
export class PreconditionFailedError extends DomainError {
  constructor(
    readonly entity: string,
    readonly id: string,
    current: unknown,
  ) {
    super('PRECONDITION_FAILED', `${entity} ${id} has changed since that version; read it again`, {
      entity,
      id,
      current,
    });
  }
}

/** A stock adjustment that would take more than the units no open order holds. */
export class AdjustmentExceedsStockError extends DomainError {
  constructor(
    readonly sku: string,
    adjust: number,
    available: number | undefined,
  ) {
    super(
      'ADJUSTMENT_EXCEEDS_STOCK',
      `Only ${available ?? 'fewer'} units of ${sku} are not held by orders; cannot take ${-adjust}`,
      { sku, adjust, available },
    );
  }
}

/** Products a person took off sale: known, but not sold. */
export class ProductUnavailableError extends DomainError {
  constructor(readonly skus: string[]) {
    super('PRODUCT_UNAVAILABLE', `Not on sale: ${skus.join(', ')}`, { skus });
  }
}

/**
 * A change the staff catalogue routes cannot make to a product whose stock is sharded: its shards
 * carry the price an order's take checks (src/domain/stock.ts), and PATCH writes the product item
 * only. Set the price and sale state when creating the product.
 */
export class ProductShardedError extends DomainError {
  constructor(
    readonly sku: string,
    what: string,
  ) {
    super('PRODUCT_SHARDED', `${sku} has sharded stock: its ${what} cannot be changed here`, { sku, what });
  }
}

/** A `cursor` this API did not hand out for this very query (edited, or from another list): refused, never followed. */
export class InvalidCursorError extends DomainError {
  constructor(why: string) {
    super('INVALID_CURSOR', `The cursor is not one this list handed out: ${why}`);
  }
}

/** An abnormal refund whose provider has no re-submission (Alipay, the bank), or that the provider never numbered: settle it offline. */
export class RefundRetryNotSupportedError extends DomainError {
  constructor(
    readonly refundId: string,
    why: string,
  ) {
    super('REFUND_RETRY_NOT_SUPPORTED', `Refund ${refundId} cannot be sent again: ${why}`, { refundId });
  }
}

/** The provider refused the re-submission (bank details, a bank it does not pay to): nothing was sent, the refund still waits. */
export class RefundRetryRefusedError extends DomainError {
  constructor(
    readonly refundId: string,
    providerStatus: string,
    reason: string,
    current: unknown,
  ) {
    super('REFUND_RETRY_REFUSED', `Refund ${refundId} was not sent again: ${reason}`, {
      refundId,
      providerStatus,
      current,
    });
  }
}
