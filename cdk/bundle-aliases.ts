/**
 * Module substitutions in every function bundle, for the CDK (cdk/payments-function.ts) and the
 * bundle measurements (bench/bundles.ts) alike. Paths are relative to the project root, where
 * esbuild runs. The local runtime and the tests import the SDK unchanged; only modules no call of
 * ours reaches are replaced (test/integration/bundled-functions.test.ts runs the bundles).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  // Lambda gives a function its role's credentials in the environment: no SSO, INI, IMDS, STS clients.
  '@aws-sdk/credential-provider-node': './src/aws/lambda-credentials.ts',
  // Loaded only for an operation with an event-stream member; none of the ones we call has one.
  '@smithy/core/event-streams': './src/aws/no-event-streams.ts',
  // DynamoDB endpoint discovery is off in our client (dynamoTable): its cache is only ever asked, and empty.
  '@aws-sdk/endpoint-cache': './src/aws/no-endpoint-discovery.ts',
};
