import * as dynamodb from '@aws-sdk/client-dynamodb';
import * as eventbridge from '@aws-sdk/client-eventbridge';
import * as secretsManager from '@aws-sdk/client-secrets-manager';
import * as sqs from '@aws-sdk/client-sqs';
import * as eventStreams from '@smithy/core/event-streams';
import { NormalizedSchema } from '@smithy/core/schema';
import { describe, expect, it } from 'vitest';
import * as standIn from '../../../src/aws/no-event-streams';

/** The AWS clients a function bundle may hold (test/cdk/bundles.test.ts). */
const CLIENTS = { dynamodb, eventbridge, secretsManager, sqs };

/**
 * The operations of a client with an event-stream member in their input or output, decided as the
 * SDK decides before it loads @smithy/core/event-streams (smithy-client's Command): an operation
 * schema is [9, namespace, name, traits, input, output].
 */
function streamingOperations(client: Record<string, unknown>): string[] {
  return (
    Object.entries(client)
      // $Command is smithy's base class, re-exported: the others are the client's operations.
      .filter(([name, value]) => name.endsWith('Command') && name !== '$Command' && typeof value === 'function')
      .filter(([, Command]) => {
        const [, , , , input, output] = (
          Reflect.construct(Command as new (input: object) => { schema: unknown[] }, [{}]) as { schema: unknown[] }
        ).schema;
        return Boolean(
          NormalizedSchema.of(input as never).getEventStreamMember() ||
          NormalizedSchema.of(output as never).getEventStreamMember(),
        );
      })
      .map(([name]) => name)
  );
}

/** The bundles' stand-in for @smithy/core/event-streams (cdk/bundle-aliases.ts). */
describe('no-event-streams', () => {
  it.each(Object.entries(CLIENTS))(
    'no operation of %s streams events, so no call of ours loads the module it replaces',
    (_, client) => {
      expect(streamingOperations(client)).toEqual([]);
    },
  );

  it('exports only names the real module exports, so its importer gets what it asks for', () => {
    expect(Object.keys(standIn).filter((name) => !(name in eventStreams))).toEqual([]);
    // What HttpProtocol.loadEventStreamCapability takes from its dynamic import.
    expect(Object.keys(standIn).sort()).toEqual(['EventStreamSerde', 'eventStreamSerdeProvider']);
  });

  it('throws, naming what was reached, if a call ever does reach it', () => {
    expect(() => Reflect.construct(standIn.EventStreamSerde, [{}])).toThrow(
      /^EventStreamSerde: this function bundle holds no event-stream support/,
    );
    expect(() => standIn.eventStreamSerdeProvider()).toThrow(/^eventStreamSerdeProvider: /);
  });
});
