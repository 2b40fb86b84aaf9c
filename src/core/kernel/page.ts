/** A page of a listing: its items, and where the next one starts. */
export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  cursor?: string;
}
