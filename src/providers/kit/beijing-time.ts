/**
 * Beijing time (UTC+8, no daylight saving), as the providers write it: WeChat's RFC 3339 with
 * `+08:00`, Alipay's `yyyy-MM-dd HH:mm:ss`. Our own times are ISO 8601 UTC.
 */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
const BEIJING_TEXT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/**
 * An instant as WeChat writes times: RFC 3339 in Beijing time, whole seconds, e.g.
 * 2026-11-25T04:30:00.900Z → 2026-11-25T12:30:00+08:00. Milliseconds are dropped (rounded down),
 * so a time_expire never lands later than our own expiry.
 */
export function toBeijingRfc3339(instant: Date | string): string {
  const ms = new Date(instant).getTime();
  if (Number.isNaN(ms)) throw new RangeError('not a valid instant');
  return `${new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

/** Any RFC 3339 time (already validated by a schema) → ISO-8601 UTC. */
export function toIsoUtc(rfc3339: string): string {
  return new Date(rfc3339).toISOString();
}

/** "yyyy-MM-dd HH:mm:ss" in Beijing time (Alipay's times). */
export function toBeijingText(instant: Date): string {
  return new Date(instant.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** "yyyy-MM-dd HH:mm:ss" Beijing time → ISO UTC; undefined unless it is a real calendar time. */
export function fromBeijingText(text: string): string | undefined {
  if (!BEIJING_TEXT.test(text)) return undefined;
  const instant = new Date(`${text.replace(' ', 'T')}+08:00`);
  // Date rolls impossible dates over (02-30 → 03-01); the round trip refuses them.
  if (Number.isNaN(instant.getTime()) || toBeijingText(instant) !== text) return undefined;
  return instant.toISOString();
}
