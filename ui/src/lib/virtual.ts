// Windowed rendering math for the message table: only the rows in view (plus overscan) are in the DOM.

export interface WindowRange {
  start: number; // first rendered row index (inclusive)
  end: number; // last rendered row index (exclusive)
  offsetY: number; // px from the top of the scroll content to the first rendered row
  totalHeight: number; // px height of the whole (virtual) content
}

export function computeWindow(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 8,
): WindowRange {
  if (rowHeight <= 0 || total <= 0) return { start: 0, end: 0, offsetY: 0, totalHeight: 0 };
  const totalHeight = total * rowHeight;
  const maxScroll = Math.max(0, totalHeight - viewportHeight);
  const top = Math.min(Math.max(0, scrollTop), maxScroll);
  const first = Math.floor(top / rowHeight);
  const visible = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, first + visible + overscan);
  return { start, end, offsetY: start * rowHeight, totalHeight };
}

/** scrollTop that brings row `index` into view, or null when it already is. */
export function scrollToReveal(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number | null {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return bottom - viewportHeight;
  return null;
}

/**
 * Appends rows and keeps at most `cap` of them: the newest win. Returns the new array and how many
 * rows were dropped from the front by this call.
 */
export function appendCapped<T>(rows: T[], incoming: T[], cap: number): { rows: T[]; dropped: number } {
  if (cap <= 0) return { rows: [], dropped: rows.length + incoming.length };
  if (incoming.length >= cap) {
    return { rows: incoming.slice(incoming.length - cap), dropped: rows.length + incoming.length - cap };
  }
  const overflow = rows.length + incoming.length - cap;
  if (overflow <= 0) return { rows: rows.concat(incoming), dropped: 0 };
  return { rows: rows.slice(overflow).concat(incoming), dropped: overflow };
}

/** px below the last rendered row down to the end of the (virtual) content: a table's bottom spacer. */
export function spaceAfter(w: WindowRange, rowHeight: number): number {
  return Math.max(0, w.totalHeight - w.end * rowHeight);
}
