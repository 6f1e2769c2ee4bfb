/**
 * WebSocketStream, as Chrome ships it (WHATWG WebSockets, the WebSocketStream interface):
 * `opened` gives a ReadableStream of messages and a WritableStream to send them, with real
 * backpressure both ways, over a wirecable {@link Connection} (client: `connect`, so `http2: true`
 * and every other client option apply; server side: {@link WebSocketStream.from}).
 *
 * Contract:
 * - Reading pulls from the socket only as the consumer reads: the connection is paused while
 *   the readable's queue is at its high-water mark (64 KiB of messages, counted in bytes for
 *   binary and UTF-16 units for text) and resumed when the consumer has room again. What the
 *   peer sends meanwhile waits in the transport (TCP's window, HTTP/2 flow control), so a slow
 *   reader bounds what the sender can push.
 * - Writing: each chunk is one message (string: text; ArrayBuffer or a view: binary; anything
 *   else: TypeError). `write()` resolves once the frame is handed to the socket (its write
 *   completed); the writable's queue holds one chunk, so a writer awaiting `ready` never has
 *   more than one message and the socket's buffer in flight.
 * - Closing: `close({ closeCode, reason })` (1000 or 3000-4999; no code: a close frame without
 *   one), closing the writable, cancelling the readable or aborting the writable (with a
 *   {@link WebSocketError}: its code and reason) start the closing handshake. `closed` resolves
 *   with `{ closeCode, reason }` after a clean close, and rejects with a WebSocketError
 *   (`closeCode` 1006) otherwise; the readable then ends, or errors.
 * - `signal` aborts the opening handshake (`opened` and `closed` reject with its reason); after
 *   opening it does nothing, as in Chrome. `opened` rejects with a WebSocketError whose `cause`
 *   is the connect error (a HandshakeError with the server's status, a network error...).
 */
import { InvalidStateError } from "../protocol/errors.js";
import { type ClientOptions, connect } from "./client.js";
import type { AnyConnection } from "./connection.js";
import { ownMessage } from "./lent-messages.js";

export interface WebSocketStreamOptions extends Omit<ClientOptions, "protocols" | "signal"> {
  protocols?: string[];
  /** Aborts the opening handshake. */
  signal?: AbortSignal;
}

export interface WebSocketOpenInfo {
  readable: ReadableStream<string | Uint8Array>;
  writable: WritableStream<string | ArrayBuffer | ArrayBufferView>;
  protocol: string;
  extensions: string;
}

export interface WebSocketCloseInfo {
  closeCode?: number;
  reason?: string;
}

/** A WebSocket that did not close cleanly, or a close asked for with a code and reason. */
export class WebSocketError extends DOMException {
  readonly closeCode: number | null;
  readonly reason: string;
  constructor(message = "", init: WebSocketCloseInfo & { cause?: unknown } = {}) {
    super(message, "WebSocketError");
    this.closeCode = init.closeCode ?? null;
    this.reason = init.reason ?? "";
    if (init.cause !== undefined) Object.defineProperty(this, "cause", { value: init.cause, configurable: true });
  }
}

/** The readable's high-water mark: 64 KiB of queued messages. */
const READ_AHEAD = 64 * 1024;
const OPEN = 1;

function sizeOf(chunk: string | Uint8Array): number {
  return typeof chunk === "string" ? chunk.length : chunk.byteLength;
}

function noop(): void {}

/** The connection WebSocketStream.from hands to the constructor (one synchronous call). */
let adopting: AnyConnection | undefined;

/** The code and reason a cancel/abort reason asks for (a WebSocketError's), or none. */
function closeArgs(reason: unknown): [number?, string?] {
  if (reason instanceof WebSocketError && reason.closeCode !== null) return [reason.closeCode, reason.reason];
  return [];
}

export class WebSocketStream {
  readonly url: string;
  readonly opened: Promise<WebSocketOpenInfo>;
  readonly closed: Promise<WebSocketCloseInfo>;
  #conn: AnyConnection | undefined;
  #abort: AbortController | undefined;
  #resolveClosed!: (info: WebSocketCloseInfo) => void;
  #rejectClosed!: (error: unknown) => void;

  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    this.closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(noop);
    const adopted = adopting;
    if (adopted !== undefined) {
      adopting = undefined;
      this.url = adopted.url ?? adopted.request?.url ?? "";
      this.opened =
        adopted.readyState === OPEN
          ? Promise.resolve(this.#attach(adopted))
          : Promise.reject(new InvalidStateError("WebSocketStream.from: the connection is not open"));
      this.opened.catch(noop);
      return;
    }
    this.url = String(url);
    const abort = new AbortController();
    this.#abort = abort;
    const signal = options.signal;
    const onAbort = (): void => abort.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    this.opened = connect(url, { ...options, signal: abort.signal }).then(
      (conn) => {
        signal?.removeEventListener("abort", onAbort);
        this.#abort = undefined;
        return this.#attach(conn);
      },
      (error: unknown) => {
        signal?.removeEventListener("abort", onAbort);
        const failure =
          abort.signal.aborted && error === abort.signal.reason
            ? error
            : new WebSocketError(error instanceof Error ? error.message : String(error), {
                closeCode: 1006,
                cause: error,
              });
        this.#rejectClosed(failure);
        throw failure;
      },
    );
    this.opened.catch(noop);
  }

  /**
   * The streams of a connection that is already open: a server's (`connection` event), or a
   * client's from `connect`. Take them before the connection's first message is delivered (in
   * the `connection` handler, or right after `connect` resolves).
   */
  static from(conn: AnyConnection): WebSocketStream {
    adopting = conn;
    try {
      return new WebSocketStream("");
    } finally {
      adopting = undefined;
    }
  }

  /** Close the WebSocket (or abort its opening handshake). */
  close(closeInfo: WebSocketCloseInfo = {}): void {
    const { closeCode, reason } = closeInfo;
    if (closeCode !== undefined && closeCode !== 1000 && (closeCode < 3000 || closeCode > 4999)) {
      throw new DOMException(`close: invalid code ${closeCode} (1000 or 3000-4999)`, "InvalidAccessError");
    }
    if (reason !== undefined && Buffer.byteLength(reason) > 123) {
      throw new DOMException("close: the reason is longer than 123 bytes", "SyntaxError");
    }
    if (this.#conn === undefined) {
      this.#abort?.abort(new WebSocketError("The opening handshake was aborted by close()", { closeCode: 1006 }));
      return;
    }
    closeConnection(this.#conn, closeCode, reason);
  }

  #attach(conn: AnyConnection): WebSocketOpenInfo {
    this.#conn = conn;
    let readController!: ReadableStreamDefaultController<string | Uint8Array>;
    let writeController!: WritableStreamDefaultController;
    let readableDone = false;
    const readable = new ReadableStream<string | Uint8Array>(
      {
        start(controller) {
          readController = controller;
        },
        pull() {
          if (conn.isPaused) conn.resume();
        },
        cancel(reason) {
          readableDone = true;
          closeConnection(conn, ...closeArgs(reason));
        },
      },
      { highWaterMark: READ_AHEAD, size: sizeOf },
    );
    const writable = new WritableStream<string | ArrayBuffer | ArrayBufferView>(
      {
        start(controller) {
          writeController = controller;
        },
        write(chunk) {
          // Runs after the stream's queue held the chunk (an earlier write pending): a lent message
          // (lendMessages) must be written as a copy, as that option documents.
          let data: string | Uint8Array;
          if (typeof chunk === "string") data = chunk;
          else if (chunk instanceof ArrayBuffer) data = new Uint8Array(chunk);
          else if (ArrayBuffer.isView(chunk)) data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          else throw new TypeError("WebSocketStream: write a string, an ArrayBuffer or an ArrayBufferView");
          if (conn.readyState !== OPEN) throw new InvalidStateError("WebSocketStream: the connection is closing");
          const result = conn.send(data);
          if (result === "dropped") throw new InvalidStateError("WebSocketStream: the message was not sent");
          return new Promise<void>((resolve, reject) => {
            conn.afterWrite((error) => (error ? reject(error) : resolve()));
          });
        },
        close() {
          closeConnection(conn);
        },
        abort(reason) {
          closeConnection(conn, ...closeArgs(reason));
        },
      },
      { highWaterMark: 1 },
    );
    conn.on("message", (message: string | Buffer) => {
      if (readableDone) return;
      const data = ownMessage(message); // queued past the event: a lent message is copied
      const chunk = typeof data === "string" ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      readController.enqueue(chunk);
      if ((readController.desiredSize ?? 1) <= 0 && !conn.isPaused) conn.pause();
    });
    conn.once("close", (code: number, reason: string, wasClean: boolean) => {
      this.#conn = conn;
      if (wasClean) {
        if (!readableDone) readController.close();
        writeController.error(new InvalidStateError("WebSocketStream: the connection is closed"));
        this.#resolveClosed({ closeCode: code, reason });
      } else {
        const error = new WebSocketError("The WebSocket connection did not close cleanly", {
          closeCode: code,
          reason,
        });
        if (!readableDone) readController.error(error);
        writeController.error(error);
        this.#rejectClosed(error);
      }
      readableDone = true;
    });
    // Start paused: the first read pulls (the readable asks for its high-water mark at once).
    conn.pause();
    return { readable, writable, protocol: conn.protocol, extensions: conn.extensions };
  }
}

/** Start the closing handshake if not started yet (no code: a close frame without a status code). */
function closeConnection(conn: AnyConnection, code?: number, reason?: string): void {
  if (conn.readyState !== OPEN) return;
  conn.close(code ?? 1005, code === undefined ? undefined : reason);
}
