import { describe, expect, it } from 'vitest';
import { computeWindow, spaceAfter } from './virtual';
import { ScrollWindow } from './virtual.svelte';

const el = (clientHeight: number) => ({ scrollTop: 0, clientHeight }) as unknown as HTMLElement;

describe('spaceAfter', () => {
  it('is the height below the rendered rows', () => {
    const w = computeWindow(0, 300, 30, 1000, 2);
    expect(w.offsetY + (w.end - w.start) * 30 + spaceAfter(w, 30)).toBe(w.totalHeight);
    expect(spaceAfter(computeWindow(1e9, 300, 30, 1000, 2), 30)).toBe(0);
    expect(spaceAfter(computeWindow(0, 300, 30, 0), 30)).toBe(0);
  });
});

describe('ScrollWindow', () => {
  it('follows the scroll position, height, row count and row height', () => {
    let total = 1000;
    let rowHeight = 20;
    const sw = new ScrollWindow(() => total, () => rowHeight, 5);
    sw.height = 200;
    expect(sw.range).toEqual(computeWindow(0, 200, 20, 1000, 5));
    const box = el(200);
    box.scrollTop = 4000;
    sw.sync(box);
    expect(sw.range.start).toBe(200 - 5);
    total = 10; // read on the next change of a tracked value
    sw.scrollTop = 4001;
    expect(sw.range).toEqual(computeWindow(4001, 200, 20, 10, 5));
    rowHeight = 40;
    sw.height = 100;
    expect(sw.range.totalHeight).toBe(400);
  });
  it('scrolls to an index and reveals rows', () => {
    const sw = new ScrollWindow(() => 100, () => 10, 2);
    const box = el(50);
    sw.scrollToIndex(box, 40);
    expect(box.scrollTop).toBe(400);
    expect(sw.scrollTop).toBe(400);
    sw.scrollToIndex(box, 500, 'end');
    expect(box.scrollTop).toBe(1000 - 50);
    expect(sw.reveal(box, 96)).toBe(false);
    expect(sw.reveal(box, 10)).toBe(true);
    expect(box.scrollTop).toBe(100);
  });
});
