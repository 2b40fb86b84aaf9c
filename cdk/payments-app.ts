import { App, Validations, type AppProps, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from './nag-suppressions';
import { PaymentsStack } from './payments-stack';

/**
 * The CDK app: the payments stack with cdk-nag's AWS Solutions rules run at every synth, so a
 * finding not acknowledged (with its reason) in nag-suppressions.ts fails `cdk synth`.
 */
export function createPaymentsApp(
  appProps: AppProps = {},
  env: Environment = defaultEnvironment(),
): { app: App; stack: PaymentsStack } {
  const app = new App(appProps);
  const stack = new PaymentsStack(app, 'Payments', { env });
  acknowledgeNagFindings(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/** Explicit env: without it the region silently defaults to us-east-1 and the account is unknown. */
function defaultEnvironment(): Environment {
  return { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'ap-east-1' };
}
