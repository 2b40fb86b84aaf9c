import * as eventStreams from '@smithy/core/event-streams';
import { describe, expect, it } from 'vitest';
import * as standIn from '../../../shared/adapters/no-event-streams';

/** The bundles' stand-in for @smithy/core/event-streams (cdk/bundle-aliases.ts). */
describe('no-event-streams', () => {
  it('exports only names the real module exports, so its importer gets what it asks for', () => {
    expect(Object.keys(standIn).filter((name) => !(name in eventStreams))).toEqual([]);
    // What HttpProtocol.loadEventStreamCapability takes from its dynamic import.
    expect(Object.keys(standIn).sort()).toEqual(['EventStreamSerde', 'eventStreamSerdeProvider']);
  });

  it('throws, naming what was reached, if a call ever does reach it', () => {
    expect(() => Reflect.construct(standIn.EventStreamSerde, [{}])).toThrow(/^EventStreamSerde: this function bundle holds no event-stream support/);
    expect(() => standIn.eventStreamSerdeProvider()).toThrow(/^eventStreamSerdeProvider: /);
  });
});
