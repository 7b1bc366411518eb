// The topics table's list logic, kept pure (and cheap) so 10,000+ topics stay smooth: a refreshed list
// reuses the objects of rows that did not change (keyed rows then skip their DOM work), the list is
// sorted and lower-cased once per refresh or sort change, and a keystroke in the search box is one
// `includes` per topic.

/** Whether two flat records have the same own keys with identical (===) values. */
export function shallowEqual(a: object, b: object): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !Object.is(ra[k], rb[k])) return false;
  }
  return true;
}

/**
 * Merges a freshly fetched list into the one shown: an item equal (flat compare) to the previous item
 * with the same key is replaced by that previous object, and when every item is unchanged and in the same
 * order the previous array itself is returned, so a poll that changed nothing changes no state at all.
 */
export function reconcileByKey<T extends object>(prev: readonly T[] | null | undefined, next: T[], key: (item: T) => string): T[] {
  if (!prev || prev.length === 0) return next;
  const old = new Map<string, T>();
  for (const item of prev) old.set(key(item), item);
  let same = prev.length === next.length;
  const out = new Array<T>(next.length);
  for (let i = 0; i < next.length; i++) {
    const n = next[i];
    const o = old.get(key(n));
    const kept = o !== undefined && shallowEqual(o, n) ? o : n;
    out[i] = kept;
    if (same && prev[i] !== kept) same = false;
  }
  return same ? (prev as T[]) : out;
}

export type SortDir = 1 | -1;

export interface SortedTopics<T> {
  items: T[];
  /** `items[i].name.toLowerCase()`, computed once per sort so searching lower-cases nothing. */
  lower: string[];
}

/**
 * Sorts by `key` (missing values first when ascending, as −1), ties by name; returns a new array and the
 * lower-cased names in the same order.
 */
export function sortTopics<T extends { name: string }>(list: readonly T[], key: keyof T & string, dir: SortDir): SortedTopics<T> {
  const items = list.slice();
  const val = (t: T) => (t[key] ?? -1) as unknown as number | string | boolean;
  items.sort((a, b) => {
    const x = val(a);
    const y = val(b);
    const c = x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c * dir;
    return (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) * dir;
  });
  return { items, lower: items.map((t) => t.name.toLowerCase()) };
}

/**
 * The topics whose name contains `query` (case-insensitive, like the API's `search`), internal ones only
 * when asked for. Returns `sorted.items` itself when nothing is filtered out.
 */
export function filterTopics<T extends { internal: boolean }>(sorted: SortedTopics<T>, query: string, includeInternal: boolean): T[] {
  const q = query.trim().toLowerCase();
  const { items, lower } = sorted;
  if (!q && (includeInternal || !items.some((t) => t.internal))) return items;
  const out: T[] = [];
  for (let i = 0; i < items.length; i++) {
    if ((includeInternal || !items[i].internal) && (!q || lower[i].includes(q))) out.push(items[i]);
  }
  return out;
}

/** "6,554 topics" or, when a filter hides some, "6,554 topics, 12 shown". */
export function topicCountLabel(total: number, shown: number): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const all = `${n(total)} ${total === 1 ? 'topic' : 'topics'}`;
  return shown === total ? all : `${all}, ${n(shown)} shown`;
}
