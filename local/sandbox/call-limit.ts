/**
 * A provider's per-merchant call limit, as the sandbox keeps it: at most `perSecond` calls of one
 * API in one second of the sandbox's clock (a frozen test clock is one long second); 0 keeps none.
 * True when this call is over the limit: the simulator then answers as its provider does.
 */
export function callLimit(perSecond: number): (api: string, now: Date) => boolean {
  const windows = new Map<string, { second: number; calls: number }>();
  return (api, now) => {
    if (perSecond <= 0) return false;
    const second = Math.floor(now.getTime() / 1000);
    const window = windows.get(api);
    if (!window || window.second !== second) {
      windows.set(api, { second, calls: 1 });
      return false;
    }
    return ++window.calls > perSecond;
  };
}
