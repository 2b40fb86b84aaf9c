import { DomainError } from './errors';

/** A webhook URL this service will not send to (src/domain/webhook-address.ts): 400 with the reason. */
export class WebhookUrlRefusedError extends DomainError {
  constructor(readonly reason: string) {
    super('WEBHOOK_URL_REFUSED', `The webhook URL ${reason}`, { reason });
  }
}

export class WebhookEndpointNotFoundError extends DomainError {
  constructor(readonly endpointId: string) {
    super('WEBHOOK_ENDPOINT_NOT_FOUND', `No webhook endpoint ${endpointId}`, { endpointId });
  }
}

export class WebhookDeliveryNotFoundError extends DomainError {
  constructor(
    readonly endpointId: string,
    readonly deliveryId: string,
  ) {
    super('WEBHOOK_DELIVERY_NOT_FOUND', `Webhook endpoint ${endpointId} has no delivery ${deliveryId}`, {
      endpointId,
      deliveryId,
    });
  }
}

export class WebhookEndpointLimitError extends DomainError {
  constructor(readonly limit: number) {
    super('WEBHOOK_ENDPOINT_LIMIT_REACHED', `At most ${limit} webhook endpoints may exist; delete one first`, {
      limit,
    });
  }
}

/** A replay asked of a disabled endpoint: enable it first (PATCH enabled: true). */
export class WebhookEndpointDisabledError extends DomainError {
  constructor(
    readonly endpointId: string,
    reason?: string,
  ) {
    super('WEBHOOK_ENDPOINT_DISABLED', `Webhook endpoint ${endpointId} is disabled; enable it before replaying`, {
      endpointId,
      reason,
    });
  }
}
