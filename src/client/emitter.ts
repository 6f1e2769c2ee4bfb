/**
 * A tiny typed, synchronous event emitter. Contract: listeners run synchronously, in the order
 * they were added, at the moment the state changes; a listener that throws does not stop the
 * others nor corrupt the caller: its error is passed to `onListenerError`.
 */

export class Emitter<Events extends object> {
  #listeners = new Map<keyof Events, Array<(event: never) => void>>();
  readonly #onListenerError: (error: unknown, type: keyof Events) => void;

  constructor(onListenerError: (error: unknown, type: keyof Events) => void) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof Events>(type: K, listener: (event: Events[K]) => void): () => void {
    const list = this.#listeners.get(type) ?? [];
    list.push(listener as (event: never) => void);
    this.#listeners.set(type, list);
    return () => this.off(type, listener);
  }

  off<K extends keyof Events>(type: K, listener: (event: Events[K]) => void): void {
    const list = this.#listeners.get(type);
    if (!list) return;
    const i = list.indexOf(listener as (event: never) => void);
    if (i >= 0) list.splice(i, 1);
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const list = this.#listeners.get(type);
    if (!list || list.length === 0) return;
    for (const listener of [...list]) {
      try {
        (listener as (event: Events[K]) => void)(event);
      } catch (error) {
        this.#onListenerError(error, type);
      }
    }
  }

  listenerCount(type: keyof Events): number {
    return this.#listeners.get(type)?.length ?? 0;
  }
}
