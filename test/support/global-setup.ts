import type { TestProject } from 'vitest/node';
import { startDynamoEmulator } from '../../local/dynamodb-emulator';

/** One DynamoDB Local for the whole run; each test file creates its own table in it. */
export default async function setup(project: TestProject) {
  const emulator = await startDynamoEmulator();
  project.provide('dynamoEndpoint', emulator.endpoint);
  return async () => {
    await emulator.stop();
  };
}
