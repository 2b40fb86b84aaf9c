import * as z from 'zod/mini';

/** A due payment the sweeper found, handed to the expiry worker: which one, and when it fell due (for the lag). */
export interface DuePaymentMessage {
  paymentId: string;
  dueAt: string;
}

/**
 * The queue between the sweeper and the expiry worker (SQS in AWS, fauxqs locally). A message may
 * come twice (at-least-once, or found again by the next run): the worker's writes are conditional.
 */
export interface DuePaymentQueue {
  /** Sends the messages, each delivered after `delaySeconds` (at most 900, SQS's limit). */
  enqueue(messages: readonly DuePaymentMessage[], delaySeconds?: number): Promise<void>;
}

/** The queue message contract between the sweeper and the expiry worker; undefined for a body that is not one. */
export function parseDuePaymentMessage(body: string): DuePaymentMessage | undefined {
  try {
    const parsed = DuePaymentMessageSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const DuePaymentMessageSchema = z.object({
  paymentId: z.string().check(z.minLength(1)),
  dueAt: z.string().check(z.minLength(1)),
}) satisfies z.ZodMiniType<DuePaymentMessage>;
