import { describe, expect, it } from 'vitest';
import { filterTopics, reconcileByKey, shallowEqual, sortTopics, topicCountLabel } from './topiclist';

interface T {
  name: string;
  internal: boolean;
  partitions: number;
  size_bytes: number | null;
}
const t = (name: string, partitions = 1, size_bytes: number | null = 0, internal = false): T => ({ name, internal, partitions, size_bytes });

describe('shallowEqual', () => {
  it('compares own keys and values', () => {
    expect(shallowEqual(t('a'), t('a'))).toBe(true);
    expect(shallowEqual(t('a', 1), t('a', 2))).toBe(false);
    expect(shallowEqual(t('a', 1, null), t('a', 1, 0))).toBe(false);
    expect(shallowEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(shallowEqual({ a: 1, b: undefined }, { a: 1, c: undefined })).toBe(false);
    expect(shallowEqual({ a: NaN }, { a: NaN })).toBe(true);
  });
});

describe('reconcileByKey', () => {
  const key = (x: T) => x.name;
  it('returns the previous array itself when nothing changed', () => {
    const prev = [t('a'), t('b'), t('c')];
    const next = [t('a'), t('b'), t('c')];
    expect(reconcileByKey(prev, next, key)).toBe(prev);
  });
  it('keeps the objects of unchanged rows and takes the changed ones', () => {
    const prev = [t('a'), t('b', 1), t('c')];
    const next = [t('a'), t('b', 4), t('c')];
    const out = reconcileByKey(prev, next, key);
    expect(out).not.toBe(prev);
    expect(out[0]).toBe(prev[0]);
    expect(out[1]).toBe(next[1]);
    expect(out[2]).toBe(prev[2]);
  });
  it('handles added, removed and reordered rows', () => {
    const prev = [t('a'), t('b'), t('c')];
    const added = reconcileByKey(prev, [t('a'), t('b'), t('c'), t('d')], key);
    expect(added.map(key)).toEqual(['a', 'b', 'c', 'd']);
    expect(added[2]).toBe(prev[2]);
    const removed = reconcileByKey(prev, [t('a'), t('c')], key);
    expect(removed.map(key)).toEqual(['a', 'c']);
    expect(removed[1]).toBe(prev[2]);
    const reordered = reconcileByKey(prev, [t('c'), t('b'), t('a')], key);
    expect(reordered).not.toBe(prev);
    expect(reordered[0]).toBe(prev[2]);
  });
  it('takes the new list when there was none', () => {
    const next = [t('a')];
    expect(reconcileByKey(null, next, key)).toBe(next);
    expect(reconcileByKey([], next, key)).toBe(next);
    expect(reconcileByKey([t('a')], [], key)).toEqual([]);
  });
});

describe('sortTopics', () => {
  const list = [t('Beta', 3, 10), t('alpha', 1, null), t('gamma', 3, 5)];
  it('sorts by name and lower-cases the names in the same order', () => {
    const s = sortTopics(list, 'name', 1);
    expect(s.items.map((x) => x.name)).toEqual(['Beta', 'alpha', 'gamma']); // code-unit order, as before
    expect(s.lower).toEqual(['beta', 'alpha', 'gamma']);
    expect(list.map((x) => x.name)).toEqual(['Beta', 'alpha', 'gamma']); // the input is not sorted in place
  });
  it('sorts by a number, missing values as -1, ties by name', () => {
    expect(sortTopics(list, 'partitions', 1).items.map((x) => x.name)).toEqual(['alpha', 'Beta', 'gamma']);
    expect(sortTopics(list, 'partitions', -1).items.map((x) => x.name)).toEqual(['gamma', 'Beta', 'alpha']);
    expect(sortTopics(list, 'size_bytes', 1).items.map((x) => x.name)).toEqual(['alpha', 'gamma', 'Beta']);
  });
});

describe('filterTopics', () => {
  const sorted = sortTopics([t('orders'), t('Order-Events'), t('payments'), t('__consumer_offsets', 50, 0, true)], 'name', 1);
  it('matches a case-insensitive substring', () => {
    expect(filterTopics(sorted, 'ORDER', true).map((x) => x.name)).toEqual(['Order-Events', 'orders']);
    expect(filterTopics(sorted, '  pay ', true).map((x) => x.name)).toEqual(['payments']);
    expect(filterTopics(sorted, 'nothing', true)).toEqual([]);
  });
  it('hides internal topics unless asked for', () => {
    expect(filterTopics(sorted, '', false).map((x) => x.name)).toEqual(['Order-Events', 'orders', 'payments']);
    expect(filterTopics(sorted, 'offsets', false)).toEqual([]);
    expect(filterTopics(sorted, 'offsets', true).map((x) => x.name)).toEqual(['__consumer_offsets']);
  });
  it('returns the sorted list itself when nothing is filtered out', () => {
    expect(filterTopics(sorted, '', true)).toBe(sorted.items);
    const plain = sortTopics([t('a'), t('b')], 'name', 1);
    expect(filterTopics(plain, ' ', false)).toBe(plain.items);
  });
  it('filters 10,000 topics quickly', () => {
    const many = sortTopics(Array.from({ length: 10_000 }, (_, i) => t(`bench-t-${String(i).padStart(5, '0')}`)), 'name', 1);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) expect(filterTopics(many, 'bench-t-04321', false)).toHaveLength(1);
    expect((performance.now() - t0) / 20).toBeLessThan(20);
  });
});

describe('topicCountLabel', () => {
  it('counts all, or all and shown', () => {
    expect(topicCountLabel(6554, 6554)).toBe('6,554 topics');
    expect(topicCountLabel(6554, 12)).toBe('6,554 topics, 12 shown');
    expect(topicCountLabel(1, 1)).toBe('1 topic');
    expect(topicCountLabel(0, 0)).toBe('0 topics');
  });
});
