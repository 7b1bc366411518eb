// Hash routing (`#/topics/orders/messages`): works from `/`, from any path, and inside a desktop window.

export interface Route {
  page: 'cluster' | 'topics' | 'topic' | 'groups' | 'group' | 'transactions' | 'replication' | 'profiles' | 'notfound';
  topic: string | null;
  tab: 'partitions' | 'messages' | 'produce' | 'configs';
  /** The consumer group of a `group` page. */
  group?: string | null;
}

export function parseRoute(hash: string): Route {
  const path = (hash.replace(/^#/, '').split('?')[0] || '/').replace(/\/+$/, '') || '/';
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const none: Route = { page: 'cluster', topic: null, tab: 'partitions' };
  if (parts.length === 0 || parts[0] === 'cluster') return none;
  if (parts[0] === 'profiles') return { ...none, page: 'profiles' };
  if (parts[0] === 'transactions' && parts.length === 1) return { ...none, page: 'transactions' };
  if (parts[0] === 'groups') {
    if (parts.length === 1) return { ...none, page: 'groups' };
    if (parts.length === 2) return { ...none, page: 'group', group: parts[1] };
  }
  if (parts[0] === 'replication' && parts.length <= 2) return { ...none, page: 'replication', topic: parts[1] ?? null };
  if (parts[0] === 'topics') {
    if (parts.length === 1) return { ...none, page: 'topics' };
    const tab = parts[2] ?? 'partitions';
    if (tab === 'partitions' || tab === 'messages' || tab === 'produce' || tab === 'configs') {
      return { page: 'topic', topic: parts[1], tab };
    }
  }
  return { ...none, page: 'notfound' };
}

export function topicHref(name: string, tab?: Route['tab']): string {
  return `#/topics/${encodeURIComponent(name)}${tab && tab !== 'partitions' ? '/' + tab : ''}`;
}

/** A consumer group's page, or (without an id) the list of groups. */
export function groupHref(id?: string | null): string {
  return id ? `#/groups/${encodeURIComponent(id)}` : '#/groups';
}

/** The replication view, of one topic or (without one) of the whole cluster. */
export function replicationHref(topic?: string | null): string {
  return topic ? `#/replication/${encodeURIComponent(topic)}` : '#/replication';
}

export const router = $state({ route: parseRoute(typeof location === 'undefined' ? '' : location.hash) });

export function startRouter(): () => void {
  const update = () => {
    router.route = parseRoute(location.hash);
  };
  update();
  window.addEventListener('hashchange', update);
  return () => window.removeEventListener('hashchange', update);
}

export function navigate(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}
