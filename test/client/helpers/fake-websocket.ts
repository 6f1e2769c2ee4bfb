/**
 * A scriptable WHATWG-shaped WebSocket for unit tests: every instance is recorded in
 * `FakeWebSocket.instances`; the test plays the server with `serverOpen`, `serverMessage`,
 * `serverClose`, `serverError`. Events are dispatched synchronously.
 * Tests of the WebSocket path pass `transports: ["websocket"]`: a fake socket closed before it
 * opens would otherwise make the client fall back to the HTTP transport (test/client/fallback).
 */
type Listener = (event: unknown) => void;

export class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static instances: FakeWebSocket[] = [];
  static reset(): void {
    FakeWebSocket.instances = [];
  }
  static get last(): FakeWebSocket {
    const ws = FakeWebSocket.instances.at(-1);
    if (!ws) throw new Error("no FakeWebSocket was created");
    return ws;
  }

  readonly url: string;
  readonly protocols: string | string[] | undefined;
  readyState = 0;
  protocol = "";
  binaryType = "blob";
  bufferedAmount = 0;
  readonly sent: unknown[] = [];
  closeCalls: Array<{ code?: number; reason?: string }> = [];
  #listeners = new Map<string, Listener[]>();

  constructor(url: string, protocols?: string | string[]) {
    this.url = url;
    this.protocols = protocols;
    FakeWebSocket.instances.push(this);
  }

  addEventListener(type: string, listener: Listener): void {
    const list = this.#listeners.get(type) ?? [];
    list.push(listener);
    this.#listeners.set(type, list);
  }

  removeEventListener(type: string, listener: Listener): void {
    const list = this.#listeners.get(type) ?? [];
    this.#listeners.set(
      type,
      list.filter((l) => l !== listener),
    );
  }

  listenerCount(type: string): number {
    return this.#listeners.get(type)?.length ?? 0;
  }

  /** Data passed to send() while closing or closed: silently discarded, as browsers do. */
  readonly discarded: unknown[] = [];

  send(data: unknown): void {
    // WHATWG: throw while CONNECTING; when CLOSING or CLOSED, discard without an error.
    if (this.readyState === 0) throw new Error("InvalidStateError: still connecting");
    if (this.readyState !== 1) this.discarded.push(data);
    else this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
    if (this.readyState < 2) this.readyState = 2;
  }

  #dispatch(type: string, event: unknown): void {
    for (const l of [...(this.#listeners.get(type) ?? [])]) l(event);
  }

  serverOpen(protocol = ""): void {
    this.readyState = 1;
    this.protocol = protocol;
    this.#dispatch("open", { type: "open" });
  }

  serverMessage(data: unknown): void {
    this.#dispatch("message", { type: "message", data });
  }

  serverError(message = "boom"): void {
    this.#dispatch("error", { type: "error", message });
  }

  serverClose(code = 1006, reason = "", wasClean = code !== 1006): void {
    this.readyState = 3;
    this.#dispatch("close", { type: "close", code, reason, wasClean });
  }
}
