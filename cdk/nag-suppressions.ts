import { Validations, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { PaymentsStack } from './payments-stack';

/** A cdk-nag finding this stack accepts, on which constructs, and why. */
export interface NagAcknowledgment {
  readonly id: string;
  readonly reason: string;
  readonly on: readonly IConstruct[];
}

/** Why each public route may skip the JWT authorizer; a new public route must be justified here. */
const PUBLIC_ROUTE_REASONS: Record<string, string> = {
  'payment-callback':
    'Payment providers (WeChat Pay, Alipay, the bank) cannot present our JWT. Every notification is authenticated by its signature over the raw body with the provider keys before anything is queued; an unsigned or badly signed body is refused and counted (SignatureFailure alarm).',
  openapi: 'The OpenAPI document describes the public contract and holds no data; its function has no grants at all.',
  'list-payment-methods':
    "A shop's checkout page shows the methods and scenes before anyone signs in. The answer names scenes only, never an appid or key; its function reads the provider secret and has no table access.",
};

/**
 * Every cdk-nag (AwsSolutions) finding the payments stack accepts, in one place, each with the
 * reason a reviewer can check. Anything not listed here fails `cdk synth` and the CDK tests.
 */
export function nagAcknowledgments(stack: PaymentsStack): NagAcknowledgment[] {
  const tableId = stack.getLogicalId(stack.table.node.defaultChild as CfnElement);
  const roles = (functions: typeof stack.functions) => functions.map(({ fn }) => fn.role!);
  const acknowledgments: NagAcknowledgment[] = [
    {
      id: 'AwsSolutions-L1',
      reason:
        'The runtime is pinned to nodejs22.x, the version the bundles are built for (esbuild target node22) and tested against; moving to a newer runtime is a deliberate change with its own test run, not a side effect of a CDK upgrade.',
      on: stack.functions.map(({ fn }) => fn),
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only X-Ray active tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), which supports no resource-level permissions. Every other grant names its resource; test/cdk asserts each function holds exactly the grants its route-table access lists.',
      on: roles(stack.functions),
    },
    {
      id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
      reason:
        "Queries on this table's own global secondary indexes (the due index and the catalogue index from src/persistence/table-definition.ts); the wildcard does not reach beyond this table.",
      on: roles(stack.functions.filter(({ access }) => access.table !== 'none')),
    },
    {
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself a dead-letter destination: the outbox publisher's stream event source sends it what it gave up on (records it could not publish for the stream's 24 hours). It is alarmed (OutboxRecordsDiscarded) and read by a person (docs/DEPLOY.md), never consumed by a function, so it needs no DLQ of its own.",
      on: [stack.outboxDeadLetters],
    },
    ...stack.publicRoutes.map(({ route, construct }) => {
      const reason = PUBLIC_ROUTE_REASONS[route.fn];
      if (!reason)
        throw new Error(`The public route ${route.method} ${route.path} has no reason in PUBLIC_ROUTE_REASONS`);
      return { id: 'AwsSolutions-APIG4', reason, on: [construct] };
    }),
  ];
  if (stack.createdSecret) {
    acknowledgments.push({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret holds keys the payment providers issue (WeChat Pay platform keys, Alipay keys, bank webhook secrets), so a rotation Lambda cannot mint them. Rotation is done at each provider and the new keys put into the secret next to the old ones (docs/DEPLOY.md); the functions pick them up within PAYMENTS_SECRET_MAX_AGE_SECONDS.',
      on: [stack.createdSecret],
    });
  }
  return acknowledgments;
}

/** Records the acknowledgments on their constructs (CDK's Validations), where cdk-nag looks for them. */
export function acknowledgeNagFindings(stack: PaymentsStack): NagAcknowledgment[] {
  const acknowledgments = nagAcknowledgments(stack);
  for (const { id, reason, on } of acknowledgments) {
    for (const construct of on) Validations.of(construct).acknowledge({ id, reason });
  }
  return acknowledgments;
}
