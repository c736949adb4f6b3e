/**
 * A bounded queue behind one async iterator: drops the oldest item when full.
 *
 * @module
 */

/** One consumer's buffer of items, read with `next()`. */
export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  #capacity: number;
  #waiters: ((result: IteratorResult<T, undefined>) => void)[] = [];
  #ended = false;
  #onDrop: (item: T) => void;
  #onReturn: () => void;

  /**
   * @param capacity Most items kept; on overflow the oldest goes to `onDrop`.
   * @param onDrop Told about each dropped item.
   * @param onReturn Told once when the consumer stops (`return()`).
   */
  constructor(
    capacity: number,
    onDrop: (item: T) => void,
    onReturn: () => void,
  ) {
    this.#capacity = capacity;
    this.#onDrop = onDrop;
    this.#onReturn = onReturn;
  }

  /** Items waiting to be read. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Adds an item (ignored once ended). */
  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter({ value: item, done: false });
      return;
    }
    if (this.size >= this.#capacity) {
      const dropped = this.#shift() as T;
      this.#onDrop(dropped);
    }
    this.#items.push(item);
  }

  /** Ends the queue: buffered items are still read, then `done`. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter({ value: undefined, done: true });
  }

  #shift(): T | undefined {
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The next item, waiting for one if needed; `done` once ended and empty. */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.size > 0) {
      return Promise.resolve({ value: this.#shift() as T, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
    });
  }

  /** Stops this consumer: drops its buffer and ends it. */
  return(): Promise<IteratorResult<T, undefined>> {
    if (!this.#ended) this.#onReturn();
    this.#items = [];
    this.#head = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
