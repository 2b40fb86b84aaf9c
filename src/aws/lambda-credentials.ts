import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * Replaces @aws-sdk/credential-provider-node in the function bundles only (the alias in
 * cdk/bundle-aliases.ts): the default chain's SSO, INI, process, web-identity, login and
 * instance-metadata sources are a quarter of a bundle, and in Lambda the execution role's
 * credentials are always in the environment. Same contract as the chain's first link (fromEnv);
 * the SDK memoizes the identity and asks again once it expires.
 */
export function defaultProvider(): AwsCredentialIdentityProvider {
  return async () => {
    const {
      AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY,
      AWS_SESSION_TOKEN,
      AWS_CREDENTIAL_EXPIRATION,
      AWS_CREDENTIAL_SCOPE,
      AWS_ACCOUNT_ID,
    } = process.env;
    if (!AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) {
      throw new Error(
        'No AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): a function bundle reads only those',
      );
    }
    const credentials: AwsCredentialIdentity = {
      accessKeyId: AWS_ACCESS_KEY_ID,
      secretAccessKey: AWS_SECRET_ACCESS_KEY,
      ...(AWS_SESSION_TOKEN ? { sessionToken: AWS_SESSION_TOKEN } : {}),
      ...(AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(AWS_CREDENTIAL_EXPIRATION) } : {}),
      ...(AWS_CREDENTIAL_SCOPE ? { credentialScope: AWS_CREDENTIAL_SCOPE } : {}),
      ...(AWS_ACCOUNT_ID ? { accountId: AWS_ACCOUNT_ID } : {}),
    };
    return credentials;
  };
}
