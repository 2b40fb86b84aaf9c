/** A page of a listing: its items, and where the next one starts. */
export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  cursor?: string;
}

/**
 * A page of a list asked for: at most `limit` items, newest first, after `cursor` (which only this
 * very list accepts), made from `from` to `to` inclusive (ISO times) when given.
 */
export interface ListWindow {
  limit: number;
  cursor?: string;
  from?: string;
  to?: string;
}
