// Pure token handling: where the studio token comes from, and what the address bar keeps.
// The browser glue (sessionStorage, history) lives in api.ts; everything here is testable in node.

export const TOKEN_KEY = 'oxbow.token';

/** Splits `#token=abc&x=1` or `#/topics?token=abc` into the token and the fragment without it. */
export function takeTokenFromFragment(hash: string): { token: string | null; rest: string } {
  let h = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!h) return { token: null, rest: '' };
  // A route may carry its own query: `/topics?token=..`
  let route = '';
  let query = h;
  const q = h.indexOf('?');
  if (h.startsWith('/')) {
    if (q < 0) return { token: null, rest: '#' + h };
    route = h.slice(0, q);
    query = h.slice(q + 1);
  }
  const params = query.split('&').filter((p) => p.length > 0);
  let token: string | null = null;
  const kept: string[] = [];
  for (const p of params) {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    if (name === 'token') {
      const raw = eq < 0 ? '' : p.slice(eq + 1);
      let v = raw;
      try {
        v = decodeURIComponent(raw);
      } catch {
        v = raw;
      }
      if (v.trim()) token = v.trim();
    } else {
      kept.push(p);
    }
  }
  if (token === null) return { token: null, rest: '#' + h };
  let rest = route;
  if (kept.length) rest += (route ? '?' : '') + kept.join('&');
  return { token, rest: rest ? '#' + rest : '' };
}

export interface TokenSources {
  hash: string;
  injected?: unknown;
  stored?: string | null;
}

export interface ResolvedToken {
  token: string | null;
  source: 'fragment' | 'injected' | 'session' | 'none';
  /** The fragment to put in the address bar, or null when it need not change. */
  newHash: string | null;
}

/**
 * Order: a token in the URL fragment (the ready URL just opened) wins, then one injected by the
 * desktop shell, then the one kept in this tab's sessionStorage.
 */
export function resolveToken(s: TokenSources): ResolvedToken {
  const { token, rest } = takeTokenFromFragment(s.hash);
  if (token) return { token, source: 'fragment', newHash: rest };
  if (typeof s.injected === 'string' && s.injected.trim()) {
    return { token: s.injected.trim(), source: 'injected', newHash: null };
  }
  if (s.stored && s.stored.trim()) return { token: s.stored.trim(), source: 'session', newHash: null };
  return { token: null, source: 'none', newHash: null };
}

/** The WebSocket URL for an http(s) page URL: same host, ws(s) scheme, token in the query. */
export function wsUrl(base: string, token: string | null): string {
  const u = new URL('/api/ws', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token) u.searchParams.set('token', token);
  return u.toString();
}
