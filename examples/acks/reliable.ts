/**
 * Application-level acknowledgements with retry (the seeds' ReliableMessaging). WebSocket
 * (TCP) delivers in order while a connection lives, but says nothing about what the other
 * application processed before a connection died; acknowledgements do.
 *
 * Protocol (JSON text): {type:"data", id, payload} -> {type:"ack", id}. The sender retries a
 * message not acknowledged within `timeout` ms, up to `retries` times, then gives up (the
 * promise rejects). The receiver acknowledges every copy but processes each id once.
 */

export interface ReliableOptions {
  /** ms to wait for an ack before sending again. Default 5 000. */
  timeout?: number;
  /** Re-sends before giving up. Default 3. */
  retries?: number;
}

interface Pending {
  data: unknown;
  sentAt: number;
  retries: number;
  resolve(): void;
  reject(err: Error): void;
}

/** The sending side. `transmit` puts a text on the current connection (it may be down). */
export class ReliableSender {
  readonly #pending = new Map<number, Pending>();
  readonly #timeout: number;
  readonly #retries: number;
  readonly #timer: NodeJS.Timeout;
  readonly #transmit: (text: string) => void;
  #nextId = 0;

  constructor(transmit: (text: string) => void, options: ReliableOptions = {}) {
    this.#transmit = transmit;
    this.#timeout = options.timeout ?? 5000;
    this.#retries = options.retries ?? 3;
    this.#timer = setInterval(() => this.checkTimeouts(), Math.max(10, this.#timeout / 4));
    this.#timer.unref();
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Resolves when the receiver acknowledged `data`; rejects after the last retry. */
  sendWithAck(data: unknown): Promise<void> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { data, sentAt: Date.now(), retries: 0, resolve, reject });
      this.#send(id, data);
    });
  }

  /** Feed every incoming text here. */
  handle(text: string): void {
    let message: { type?: unknown; id?: unknown };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type !== "ack" || typeof message.id !== "number") return;
    const entry = this.#pending.get(message.id);
    if (entry === undefined) return; // a late duplicate ack
    this.#pending.delete(message.id);
    entry.resolve();
  }

  /** Send everything unacknowledged again now (call it after a reconnection). */
  resendAll(): void {
    for (const [id, entry] of this.#pending) {
      entry.sentAt = Date.now();
      this.#send(id, entry.data);
    }
  }

  checkTimeouts(now = Date.now()): void {
    for (const [id, entry] of this.#pending) {
      if (now - entry.sentAt <= this.#timeout) continue;
      if (entry.retries < this.#retries) {
        entry.retries++;
        entry.sentAt = now;
        this.#send(id, entry.data);
      } else {
        this.#pending.delete(id);
        entry.reject(new Error(`message ${id} not acknowledged after ${this.#retries} retries`));
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const entry of this.#pending.values()) entry.reject(new Error("sender closed"));
    this.#pending.clear();
  }

  #send(id: number, payload: unknown): void {
    try {
      this.#transmit(JSON.stringify({ type: "data", id, payload }));
    } catch {
      // Not connected: the retry timer (or resendAll after reconnecting) sends it later.
    }
  }
}

/** The receiving side: acknowledges every copy, hands each id to `process` once. */
export class ReliableReceiver {
  readonly #seen = new Set<number>();
  readonly #order: number[] = [];
  readonly #process: (payload: unknown, id: number) => void;
  readonly #memory: number;

  constructor(process: (payload: unknown, id: number) => void, memory = 10_000) {
    this.#process = process;
    this.#memory = memory;
  }

  /** Returns the ack to send back, or null when the text is not a data message. */
  handle(text: string): string | null {
    let message: { type?: unknown; id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(text);
    } catch {
      return null;
    }
    if (message.type !== "data" || typeof message.id !== "number") return null;
    if (!this.#seen.has(message.id)) {
      this.#seen.add(message.id);
      this.#order.push(message.id);
      if (this.#order.length > this.#memory) this.#seen.delete(this.#order.shift()!);
      this.#process(message.payload, message.id);
    }
    return JSON.stringify({ type: "ack", id: message.id });
  }
}
