import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** DynamoDB Local endpoint started by test/support/global-setup.ts. */
    dynamoEndpoint: string;
  }
}
