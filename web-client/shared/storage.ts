// Storage that never throws (private browsing, disabled storage): values are JSON.

export function load<T>(store: 'local' | 'session', key: string): T | null {
  try {
    const raw = (store === 'local' ? localStorage : sessionStorage).getItem(key);
    return raw === null ? null : (JSON.parse(raw) as T);
  } catch {
    return null;
  }
}

export function save(store: 'local' | 'session', key: string, value: unknown): void {
  try {
    const s = store === 'local' ? localStorage : sessionStorage;
    if (value === null || value === undefined) s.removeItem(key);
    else s.setItem(key, JSON.stringify(value));
  } catch {
    /* storage unavailable: the session simply will not survive a reload */
  }
}
