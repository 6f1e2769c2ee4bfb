/**
 * A connection's messages as an async iterator: messages are queued between `next()` calls
 * (no backpressure: use a `message` listener with your own flow control for that), and the
 * iterator ends when the connection closes or `return()` is called (`break` in for-await).
 * A lent message (`lendMessages`) is copied: it is read after its event.
 */
import type { EventEmitter } from "node:events";
import { ownMessage } from "./lent-messages.js";

export function messageIterator(emitter: EventEmitter, finished: boolean): AsyncIterableIterator<string | Buffer> {
  const queue: Array<string | Buffer> = [];
  const readers: Array<(r: IteratorResult<string | Buffer>) => void> = [];
  let done = finished;
  const onMessage = (message: string | Buffer): void => {
    const data = ownMessage(message);
    const reader = readers.shift();
    if (reader) reader({ value: data, done: false });
    else queue.push(data);
  };
  const finish = (): void => {
    done = true;
    emitter.off("message", onMessage);
    emitter.off("close", finish);
    for (const reader of readers.splice(0)) reader({ value: undefined, done: true });
  };
  if (!done) {
    emitter.on("message", onMessage);
    emitter.on("close", finish);
  }
  const iterator: AsyncIterableIterator<string | Buffer> = {
    next: () => {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => readers.push(resolve));
    },
    return: () => {
      finish();
      queue.length = 0;
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
