/**
 * Metric names and the namespace, shared by the functions (EMF) and the CDK dashboard and alarms,
 * so a rename cannot silently break a graph.
 */
export const METRICS_NAMESPACE = 'Payments';

export const Metric = {
  OrdersCreated: 'OrdersCreated',
  PaymentsCreated: 'PaymentsCreated',
  PaymentsStarted: 'PaymentsStarted',
  PaymentSucceeded: 'PaymentSucceeded',
  PaymentFailed: 'PaymentFailed',
  PaymentCancelled: 'PaymentCancelled',
  PaymentExpired: 'PaymentExpired',
  OrdersCancelled: 'OrdersCancelled',
  CallbackReceived: 'CallbackReceived',
  CallbackAccepted: 'CallbackAccepted',
  CallbackRejected: 'CallbackRejected',
  CallbackEnqueueFailed: 'CallbackEnqueueFailed',
  CallbackTooLarge: 'CallbackTooLarge',
  CallbackLatency: 'CallbackLatency',
  SignatureFailure: 'SignatureFailure',
  SignatureProbe: 'SignatureProbe',
  AmountMismatch: 'AmountMismatch',
  NotificationApplied: 'NotificationApplied',
  NotificationDuplicate: 'NotificationDuplicate',
  NotificationIgnored: 'NotificationIgnored',
  WorkerLatency: 'WorkerLatency',
  LatePayment: 'LatePayment',
  DuplicatePayment: 'DuplicatePayment',
  /** A provider says a payment was paid in another scene than it was started in (WeChat trade_type). */
  TradeTypeMismatch: 'TradeTypeMismatch',
  /** A provider's definite refusal to create a checkout, by provider and refusal (docs/PROVIDERS.md#checkout-refusals). */
  CheckoutRefused: 'CheckoutRefused',
  /** Alarmed: a scene configured here that the provider has not enabled on the merchant account (WeChat NO_AUTH). */
  SceneNotEnabled: 'SceneNotEnabled',
  EventsPublished: 'EventsPublished',
  OutboxPublishFailed: 'OutboxPublishFailed',
  /** An event the bus can never take (over its size limit): kept in the outbox for an operator. */
  EventsUndeliverable: 'EventsUndeliverable',
  RemindersSent: 'RemindersSent',
  PaymentsRescuedByQuery: 'PaymentsRescuedByQuery',
  ProviderQueryFailed: 'ProviderQueryFailed',
  ProviderCloseFailed: 'ProviderCloseFailed',
  SweeperLagSeconds: 'SweeperLagSeconds',
  SweeperHandled: 'SweeperHandled',
  /** Due payments the sweeper handed to the expiry worker. */
  DuePaymentsEnqueued: 'DuePaymentsEnqueued',
  /** Provider calls the expiry worker put off because the provider (or our own rate) said slow down. */
  ProviderBusy: 'ProviderBusy',
  /** Seconds between a payment falling due and the expiry worker settling it. */
  ExpiryLagSeconds: 'ExpiryLagSeconds',
  PaymentsInFlight: 'PaymentsInFlight',
  RefundRequested: 'RefundRequested',
  RefundSucceeded: 'RefundSucceeded',
  /** Alarmed: a refund the provider refused or closed; the money is still with us. */
  RefundFailed: 'RefundFailed',
  /** Alarmed: the provider could not pay a refund back; a person must settle it. */
  RefundAbnormal: 'RefundAbnormal',
  /** Alarmed: a refund made outside this service (a provider console), recorded from its notification. */
  ExternalRefund: 'ExternalRefund',
  /** A refund notification that could not be booked (a payment we do not hold as paid, or past what is left), parked for a person. */
  RefundNotificationParked: 'RefundNotificationParked',
  /** Alarmed: open refunds older than a day, counted by the sweeper. */
  OldestOpenRefundAgeSeconds: 'OldestOpenRefundAgeSeconds',
  RefundCallFailed: 'RefundCallFailed',
  /** A difference between a provider's bill and our ledger, found for the first time (by kind). */
  ReconciliationDifference: 'ReconciliationDifference',
  ReconciliationHealed: 'ReconciliationHealed',
  /** Alarmed: differences left for a person after a provider's run (a gauge per provider). */
  ReconciliationOpenDifferences: 'ReconciliationOpenDifferences',
  /** Open differences of a kind the reconciliation heals, still open after the hourly retry re-ran their days. */
  ReconciliationUnhealed: 'ReconciliationUnhealed',
  /** Alarmed: a bill not published by the cut-off, or one that could not be fetched or read. */
  ReconciliationBillMissing: 'ReconciliationBillMissing',
  ReconciliationFailed: 'ReconciliationFailed',
  RefundQueryFailed: 'RefundQueryFailed',
  /** Webhook attempts by outcome (delivered, failed, gone) and trigger (event, retry, replay). */
  WebhookAttempts: 'WebhookAttempts',
  /** 1 for a failed attempt, 0 for a delivered one, by endpoint: its average is the endpoint's failure rate (alarmed). */
  WebhookAttemptFailed: 'WebhookAttemptFailed',
  /** From the event's occurredAt to the 2xx of its first successful attempt (ms). */
  WebhookDeliveryLatency: 'WebhookDeliveryLatency',
  /** From the event's occurredAt to the deliverer taking it off the queue (ms): the order promise assumes it stays under WEBHOOK_ORDER_HOLD_MS. */
  WebhookIntakeLag: 'WebhookIntakeLag',
  /** An event sent before the one ahead of it in its order had finished its first attempt (that one was stuck). */
  WebhookOrderWaitExpired: 'WebhookOrderWaitExpired',
  /** Alarmed: an endpoint disabled by a 410 or by failing for the whole retry window. */
  WebhookEndpointDisabled: 'WebhookEndpointDisabled',
  /** A delivery that will not be attempted again: its window closed, or its endpoint was disabled or deleted. */
  WebhookDeliveriesGivenUp: 'WebhookDeliveriesGivenUp',
  /** Gauges, each sweeper run: items waiting for a person in each waiting state (src/domain/waiting.ts), alarmed above 0. */
  WaitingNeedsReview: 'WaitingNeedsReview',
  WaitingRefundOwed: 'WaitingRefundOwed',
  WaitingAbnormalRefund: 'WaitingAbnormalRefund',
  WaitingOpenDifference: 'WaitingOpenDifference',
  WaitingDeadLetter: 'WaitingDeadLetter',
} as const;
export type MetricName = (typeof Metric)[keyof typeof Metric];

export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds';

export interface Metrics {
  /** Adds to a counter; `dimensions` such as provider or reason split it. */
  count(name: MetricName, value?: number, dimensions?: Record<string, string>): void;
  /**
   * Records one observation of a duration or level. Sending what was recorded is not the core's
   * business: in Lambda the observability middleware flushes after every invocation.
   */
  observe(name: MetricName, value: number, unit: MetricUnit, dimensions?: Record<string, string>): void;
}
