// The scroll state of a windowed list, shared by the message browser's grid (VirtualTable) and the topics
// table: which rows are rendered follows the scroll container's scrollTop and height (lib/virtual.ts does
// the math). The component binds `height` (bind:clientHeight), calls `sync` from its scroll handler and
// renders `range.start`..`range.end`.
import { computeWindow, scrollToReveal, type WindowRange } from './virtual';

export class ScrollWindow {
  /** The scroll container's scrollTop, as last seen. */
  scrollTop = $state(0);
  /** The scroll container's clientHeight (bind:clientHeight). */
  height = $state(400);
  #total: () => number;
  #rowHeight: () => number;
  #overscan: number;
  /** The rows to render now. */
  readonly range: WindowRange = $derived.by(() =>
    computeWindow(this.scrollTop, this.height, this.rowHeight, this.total, this.#overscan),
  );

  /** `total` and `rowHeight` are read reactively (e.g. from props or state). */
  constructor(total: () => number, rowHeight: () => number, overscan = 8) {
    this.#total = total;
    this.#rowHeight = rowHeight;
    this.#overscan = overscan;
  }

  get total(): number {
    return this.#total();
  }

  get rowHeight(): number {
    return this.#rowHeight();
  }

  /** The container's scroll handler. */
  sync(el: HTMLElement) {
    this.scrollTop = el.scrollTop;
  }

  /** Scrolls the container and renders the new window now, not on the next scroll event. */
  scrollTo(el: HTMLElement, top: number) {
    el.scrollTop = top;
    this.scrollTop = el.scrollTop;
  }

  /** Puts row `i` (clamped) at the top ('start') or bottom ('end') of the view. */
  scrollToIndex(el: HTMLElement, i: number, align: 'start' | 'end' = 'start') {
    const n = this.total;
    if (n === 0) return;
    const k = Math.min(Math.max(0, i), n - 1);
    const h = this.rowHeight;
    this.scrollTo(el, align === 'start' ? k * h : Math.max(0, (k + 1) * h - el.clientHeight));
  }

  /** Scrolls just enough to bring row `i` into view; false when it already is. */
  reveal(el: HTMLElement, i: number): boolean {
    const t = scrollToReveal(i, el.scrollTop, el.clientHeight, this.rowHeight);
    if (t === null) return false;
    this.scrollTo(el, t);
    return true;
  }
}
