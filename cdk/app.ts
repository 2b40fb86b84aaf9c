import { App } from 'aws-cdk-lib';
import { PaymentsStack } from './payments-stack';

const app = new App();
// Explicit env: without it the region silently defaults to us-east-1 and the account is unknown.
new PaymentsStack(app, 'Payments', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'ap-east-1' },
});
