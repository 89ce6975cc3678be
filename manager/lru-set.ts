// A set that forgets its least recently added or seen keys past a fixed size: memory stays bounded
// however long the Manager runs. A Map keeps insertion order, so its first key is the oldest.
export class LruSet<K> {
  readonly #keys = new Map<K, true>();

  constructor(
    readonly capacity: number,
    private readonly onEvict: (key: K) => void = () => {},
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
  }

  has(key: K): boolean {
    return this.#keys.has(key);
  }

  /** Adds the key, or refreshes it; evicts the oldest when full. */
  add(key: K): void {
    this.#keys.delete(key);
    this.#keys.set(key, true);
    if (this.#keys.size > this.capacity) {
      const oldest = this.#keys.keys().next().value as K;
      this.#keys.delete(oldest);
      this.onEvict(oldest);
    }
  }
}
