import * as z from 'zod';
import { AUDITED_KINDS } from '../domain/audit';
import { MAX_AMOUNT_FEN } from '../domain/money';
import { PAYMENT_METHODS } from '../domain/payment';
import { PAYMENT_FLAGS } from '../domain/waiting';
import {
  OrderSchema,
  PaymentSchema,
  ProductSchema,
  ReconciliationDaySchema,
  ReconciliationDifferenceSchema,
  RefundSchema,
  TimestampSchema,
} from './response-schemas';

/** Response bodies of the lists and staff actions (docs/API.md#lists, #staff-actions). */

const Fen = z.int().min(0).max(MAX_AMOUNT_FEN).describe('Amount in fen (CNY minor units)');
const NextCursor = z.string().optional().describe('Absent on the last page; pass it as `cursor` for the next one');
const AuditId = z.string().describe('The audit entry of this action (GET /api/admin/audit)');

export const OrderListSchema = z.object({
  orders: z
    .array(OrderSchema.extend({ payment: PaymentSchema.optional().describe('The one that paid it, else the latest') }))
    .describe('Newest first'),
  nextCursor: NextCursor,
});

export const StaffPaymentSchema = PaymentSchema.extend({
  customerId: z.string(),
  flags: z.array(z.enum([...PAYMENT_FLAGS, 'refundOwed'])),
  refundOwed: Fen.optional().describe('Taken and not kept by its order, with no refund under way'),
  reviewReason: z.string().optional(),
  reportedAmount: z.int().optional().describe("Parked for review: the provider's amount, fen"),
  reportedCurrency: z.string().optional(),
});
export const StaffPaymentListSchema = z.object({ payments: z.array(StaffPaymentSchema), nextCursor: NextCursor });
export const PaymentSettledSchema = z.object({
  payment: StaffPaymentSchema,
  refunds: z.array(RefundSchema).describe('Refunds of what it owes back, due now: the sweeper sends them'),
  auditId: AuditId,
});

const StaffRefundSchema = RefundSchema.extend({
  method: z
    .enum(PAYMENT_METHODS)
    .optional()
    .describe("The refund's provider (only WeChat's abnormal refunds can be sent again)"),
  offline: z.literal(true).optional().describe('Paid back by a person outside any provider'),
  providerStatus: z.string().optional(),
});
export const StaffRefundListSchema = z.object({ refunds: z.array(StaffRefundSchema), nextCursor: NextCursor });
export const RefundSettledSchema = z.object({ refund: StaffRefundSchema, auditId: AuditId });

const StaffDifferenceSchema = ReconciliationDifferenceSchema.extend({
  differenceId: z.string().describe('Names it in POST /api/admin/differences/{differenceId}/resolve'),
  provider: z.enum(PAYMENT_METHODS),
  date: z.string().describe('The Beijing business day, YYYY-MM-DD'),
  resolvedBy: z.string().optional(),
  resolvedAt: TimestampSchema.optional(),
});
export const DifferenceListSchema = z.object({ differences: z.array(StaffDifferenceSchema), nextCursor: NextCursor });
export const DifferenceResolvedSchema = z.object({ difference: StaffDifferenceSchema, auditId: AuditId });

export const DeadLetterListSchema = z.object({
  deadLetters: z.array(
    z.object({
      provider: z.enum(PAYMENT_METHODS),
      eventId: z.string(),
      about: z.enum(['payment', 'refund']),
      paymentId: z.string(),
      refundId: z.string().optional(),
      failures: z.int().describe('Times the worker failed it'),
      errorCode: z.string(),
      errorMessage: z.string(),
      firstFailedAt: TimestampSchema,
      lastFailedAt: TimestampSchema,
    }),
  ),
  nextCursor: NextCursor,
});

export const DeadLettersReplayedSchema = z.object({
  replayed: z.int().describe('Dead letters taken off the list'),
  moved: z.int().describe('Messages the queue moves back to the worker'),
  detail: z.string(),
  auditId: AuditId,
});

export const AuditListSchema = z.object({
  entries: z.array(
    z.object({
      auditId: z.string(),
      entity: z.string().describe(`<kind>:<id>, kind one of ${AUDITED_KINDS.join(', ')}`),
      action: z.string(),
      actor: z.string().describe("The token's sub"),
      at: TimestampSchema,
      reason: z.string(),
      before: z.record(z.string(), z.unknown()),
      after: z.record(z.string(), z.unknown()),
    }),
  ),
  nextCursor: NextCursor,
});

const VersionedProductSchema = ProductSchema.extend({
  active: z.boolean(),
  version: z.int().min(1).describe('Send it back in If-Match to change the product'),
});
export const ProductChangeSchema = z.object({ product: VersionedProductSchema, auditId: AuditId });
export const StockAdjustmentSchema = z.object({ sku: z.string(), adjust: z.int(), auditId: AuditId });

/** The staff routes' response bodies, published as named OpenAPI components (openapi.ts). */
export const STAFF_RESPONSE_COMPONENTS = {
  OrderList: OrderListSchema,
  StaffPaymentList: StaffPaymentListSchema,
  PaymentSettled: PaymentSettledSchema,
  StaffRefundList: StaffRefundListSchema,
  RefundSettled: RefundSettledSchema,
  DifferenceList: DifferenceListSchema,
  DifferenceResolved: DifferenceResolvedSchema,
  ReconciliationRerun: ReconciliationDaySchema.extend({ auditId: AuditId }),
  DeadLetterList: DeadLetterListSchema,
  AuditList: AuditListSchema,
  DeadLettersReplayed: DeadLettersReplayedSchema,
  ProductChange: ProductChangeSchema,
  StockAdjustment: StockAdjustmentSchema,
};
