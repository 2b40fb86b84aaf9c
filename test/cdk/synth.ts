import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { expect } from 'vitest';
import { createPaymentsApp } from '../../cdk/payments-app';
import { PROJECT_ROOT } from '../../cdk/payments-function';
import { PaymentsStack } from '../../cdk/payments-stack';

/** A CloudFormation resource as Template.findResources returns it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Resource = { Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string };
export interface Statement {
  Action: string | string[];
  Resource: unknown;
}

export const CDK_JSON = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};
export const PACKAGE_JSON = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

/** The required context a deployment passes; the tests' own values, not the examples of npm run synth. */
export const TEST_CONTEXT = {
  jwtIssuer: 'https://auth.example.com/',
  jwtAudience: 'shop',
  returnUrl: 'https://shop.example/orders/{orderId}',
};

export const ENV = { account: '111111111111', region: 'ap-east-1' };

/** cdk.json's feature flags + the test context + overrides (undefined removes a key), minus bundling and template linting (the CLI test covers both). */
export function appProps(overrides: Record<string, unknown> = {}) {
  const context = Object.fromEntries(
    Object.entries({ ...CDK_JSON.context, 'aws:cdk:bundling-stacks': [], ...TEST_CONTEXT, ...overrides }).filter(
      ([, value]) => value !== undefined,
    ),
  );
  return { builtinCloudFormationValidation: false, context };
}

/**
 * The stack as `cdk synth` builds it: the app of cdk/app.ts, so cdk-nag runs while synthesizing
 * and any unacknowledged finding throws here. `bare` builds the stack alone (no nag, no acknowledgments).
 */
export function synth(overrides: Record<string, unknown> = {}, { bare = false } = {}) {
  const stack = bare
    ? new PaymentsStack(new App(appProps(overrides)), 'Payments', { env: ENV })
    : createPaymentsApp(appProps(overrides), ENV).stack;
  const template = Template.fromStack(stack);
  const resources = (type: string) => template.findResources(type) as Record<string, Resource>;
  const only = (type: string) => {
    const found = Object.entries(resources(type));
    expect(found, type).toHaveLength(1);
    return found[0]!;
  };
  /** The logical id of the L1 under a construct path such as `Api/HttpApi`. */
  const logicalId = (path: string) => {
    const construct = path.split('/').reduce((scope, id) => scope.node.findChild(id), stack as IConstruct);
    return stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
  };
  const fn = (name: string) => resources('AWS::Lambda::Function')[logicalId(name)]!.Properties;
  const roleId = (name: string) => fn(name).Role['Fn::GetAtt'][0] as string;
  /** Every IAM statement attached to the function's role. */
  const statements = (name: string): Statement[] => {
    const role = JSON.stringify({ Ref: roleId(name) });
    return Object.values(resources('AWS::IAM::Policy'))
      .filter((policy) => policy.Properties.Roles.some((r: unknown) => JSON.stringify(r) === role))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
  };
  return { stack, template, resources, only, logicalId, fn, roleId, statements };
}

export type Synthesized = ReturnType<typeof synth>;
