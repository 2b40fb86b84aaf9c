/**
 * Replaces @smithy/core/event-streams in the function bundles only (the alias in
 * cdk/bundle-aliases.ts). Its one importer, HttpProtocol.loadEventStreamCapability, loads it by a
 * dynamic import only for an operation whose input or output has an event-stream member; no
 * DynamoDB, SQS, EventBridge or Secrets Manager operation has one, yet esbuild inlines the codecs
 * and marshallers behind that import (about 18 KB) into every bundle.
 *
 * It exports the two names that importer takes, each throwing when used. An importer that asks
 * for any other name fails the bundle's build (esbuild: no matching export), to be looked at.
 */
function unavailable(name: string) {
  return function () {
    throw new Error(
      `${name}: this function bundle holds no event-stream support (cdk/bundle-aliases.ts), and none of its AWS operations streams`,
    );
  };
}

export const EventStreamSerde = unavailable('EventStreamSerde');
export const eventStreamSerdeProvider = unavailable('eventStreamSerdeProvider');
