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
  EventsPublished: 'EventsPublished',
  OutboxPublishFailed: 'OutboxPublishFailed',
  RemindersSent: 'RemindersSent',
  PaymentsRescuedByQuery: 'PaymentsRescuedByQuery',
  ProviderQueryFailed: 'ProviderQueryFailed',
  ProviderCloseFailed: 'ProviderCloseFailed',
  SweeperLagSeconds: 'SweeperLagSeconds',
  SweeperHandled: 'SweeperHandled',
  PaymentsInFlight: 'PaymentsInFlight',
} as const;
export type MetricName = (typeof Metric)[keyof typeof Metric];

export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds';

export interface Metrics {
  /** Adds to a counter; `dimensions` such as provider or reason split it. */
  count(name: MetricName, value?: number, dimensions?: Record<string, string>): void;
  /** Records one observation of a duration or level. */
  observe(name: MetricName, value: number, unit: MetricUnit, dimensions?: Record<string, string>): void;
  /** Sends what was recorded (EMF: one log line). Called at the end of each invocation. */
  flush(): void;
}
