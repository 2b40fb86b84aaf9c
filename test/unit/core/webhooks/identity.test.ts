import { describe, expect, it } from 'vitest';
import {
  DELIVERY_ID_PATTERN,
  deliveryIdOf,
  deliveryIdRange,
  laneOf,
  lanePosition,
} from '../../../../src/core/webhooks/identity';
import type { DomainEvent } from '../../../../src/domain/events';

const event = (type: DomainEvent['type'], occurredAt: string, orderId = 'ord_1'): DomainEvent => ({
  id: `${orderId}:${type}:1`,
  type,
  occurredAt,
  detail: { orderId, customerId: 'alice' },
});

describe('delivery ids and lanes (src/core/webhooks/identity.ts)', () => {
  it('derives the delivery id from the event alone, ordered by when it happened', () => {
    const first = deliveryIdOf(event('OrderCreated', '2026-11-25T04:00:00.120Z'));
    expect(first).toMatch(DELIVERY_ID_PATTERN);
    expect(first.startsWith('whd_20261125040000120_')).toBe(true);
    expect(deliveryIdOf(event('OrderCreated', '2026-11-25T04:00:00.120Z'))).toBe(first);
    expect(deliveryIdOf(event('OrderPaid', '2026-11-25T04:00:00.121Z')) > first).toBe(true);
  });

  it('bounds a time range inclusively, whatever the hash', () => {
    const { first, last } = deliveryIdRange('2026-11-25T04:00:00Z', '2026-11-25T05:00:00.000Z');
    for (const at of ['2026-11-25T04:00:00.000Z', '2026-11-25T04:30:00.000Z', '2026-11-25T05:00:00.000Z']) {
      const id = deliveryIdOf(event('OrderPaid', at));
      expect(id >= first && id <= last, at).toBe(true);
    }
    for (const at of ['2026-11-25T03:59:59.999Z', '2026-11-25T05:00:00.001Z']) {
      const id = deliveryIdOf(event('OrderPaid', at));
      expect(id >= first && id <= last, at).toBe(false);
    }
  });

  it('puts the events of one change in the order they happen, and earlier changes first', () => {
    const at = '2026-11-25T04:00:01.000Z';
    const change = ['OrderPaid', 'PaymentSucceeded'].map((type) => event(type as DomainEvent['type'], at));
    expect(change.sort((a, b) => (lanePosition(a) < lanePosition(b) ? -1 : 1)).map((e) => e.type)).toEqual([
      'PaymentSucceeded',
      'OrderPaid',
    ]);
    const pairs: Array<[DomainEvent['type'], DomainEvent['type']]> = [
      ['PaymentSucceeded', 'OrderPaid'],
      ['PaymentCancelled', 'OrderCancelled'],
      ['RefundSucceeded', 'OrderRefunded'],
      ['PaymentSucceeded', 'LatePaymentReceived'],
      ['OrderCreated', 'PaymentStarted'],
    ];
    for (const [before, later] of pairs)
      expect(lanePosition(event(before, at)) < lanePosition(event(later, at)), `${before} < ${later}`).toBe(true);
    expect(
      lanePosition(event('RefundRequested', '2026-11-25T04:00:00.999Z')) < lanePosition(event('OrderCreated', at)),
    ).toBe(true);
  });

  it('keeps one lane per endpoint and order', () => {
    expect(laneOf('whe_1', event('OrderPaid', '2026-11-25T04:00:00Z'))).toBe('whe_1#ord_1');
    expect(laneOf('whe_2', event('OrderPaid', '2026-11-25T04:00:00Z'))).toBe('whe_2#ord_1');
    expect(laneOf('whe_1', { id: 'reconciliation:x', detail: { orderId: '', customerId: '' } })).toBe(
      'whe_1#reconciliation:x',
    );
  });
});
