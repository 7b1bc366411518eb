import { describe, expect, it } from 'vitest';
import { appendCapped, computeWindow, scrollToReveal } from './virtual';

describe('computeWindow', () => {
  it('renders the top rows with overscan', () => {
    expect(computeWindow(0, 280, 28, 100_000, 5)).toEqual({ start: 0, end: 16, offsetY: 0, totalHeight: 2_800_000 });
  });
  it('windows the middle', () => {
    const w = computeWindow(28 * 1000 + 10, 280, 28, 100_000, 5);
    expect(w.start).toBe(995);
    expect(w.end).toBe(1000 + 11 + 5);
    expect(w.offsetY).toBe(995 * 28);
  });
  it('clamps past the end', () => {
    const w = computeWindow(1e9, 280, 28, 50, 2);
    expect(w.end).toBe(50);
    expect(w.start).toBe(40 - 2);
  });
  it('handles empty and degenerate inputs', () => {
    expect(computeWindow(0, 300, 28, 0)).toEqual({ start: 0, end: 0, offsetY: 0, totalHeight: 0 });
    expect(computeWindow(-50, 0, 28, 10, 0)).toMatchObject({ start: 0, end: 1 });
  });
  it('keeps the DOM small at 100k rows', () => {
    const w = computeWindow(1_400_000, 600, 28, 100_000);
    expect(w.end - w.start).toBeLessThan(60);
  });
});

describe('scrollToReveal', () => {
  it('scrolls up, down or not at all', () => {
    expect(scrollToReveal(2, 100, 280, 28)).toBe(56);
    expect(scrollToReveal(20, 0, 280, 28)).toBe(21 * 28 - 280);
    expect(scrollToReveal(5, 0, 280, 28)).toBeNull();
  });
});

describe('appendCapped', () => {
  it('keeps the newest rows', () => {
    expect(appendCapped([1, 2, 3], [4, 5], 4)).toEqual({ rows: [2, 3, 4, 5], dropped: 1 });
    expect(appendCapped([1], [2], 4)).toEqual({ rows: [1, 2], dropped: 0 });
    expect(appendCapped([1, 2], [3, 4, 5, 6, 7], 3)).toEqual({ rows: [5, 6, 7], dropped: 4 });
    expect(appendCapped([1], [2], 0)).toEqual({ rows: [], dropped: 2 });
  });
});
