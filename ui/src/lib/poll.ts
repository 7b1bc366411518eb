/** Calls `fn` now and then every `ms` while the page is visible; returns a stop function. */
export function poll(fn: (signal: AbortSignal) => Promise<unknown> | void, ms: number): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let ctrl: AbortController | null = null;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    if (typeof document !== 'undefined' && document.hidden) {
      timer = setTimeout(tick, ms);
      return;
    }
    ctrl = new AbortController();
    try {
      await fn(ctrl.signal);
    } catch {
      /* the caller shows its own errors */
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    ctrl?.abort();
  };
}
