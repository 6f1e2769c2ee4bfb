/**
 * FallbackTransport: the transport of a {@link Connection} whose WebSocket runs over the HTTP
 * fallback (the wire: src/protocol/fallback/wire.ts). It is a Duplex, as a socket is, so the
 * Connection and its engine run over it unchanged: limits, heartbeats, backpressure, the closing
 * handshake and every event are the WebSocket's own.
 *
 * Contract:
 * - Readable side (client to server): the bytes of the client's POSTs, in upstream-offset order
 *   ({@link receive}); a POST whose bytes were already received (a retry) is not delivered again.
 *   A POST is answered once its bytes are taken: while the Connection does not read (paused),
 *   the POST waits, so the client's sends back up as they would on TCP.
 * - Writable side (server to client): the server's frames are decoded by a second engine (role
 *   client; its own output is discarded: the real client answers pings and close frames itself)
 *   and each message or control frame becomes one text/event-stream event on the attached
 *   downstream response. A write completes once its events are handed to a response that is not
 *   backed up: a slow (or absent) reader makes `writableLength`, hence the Connection's
 *   `bufferedAmount`, grow, and the Connection's backpressure policy applies, as with a socket.
 * - Downstream resumption: a broken response is not the end. Events written are kept (at most
 *   `replayBytes` characters, less once the client acknowledged them) so that a new downstream
 *   ({@link attach} with the count of events the client has) continues exactly where the client
 *   is. Without a downstream for `resumeTimeout` ms the transport is destroyed: the Connection
 *   then closes with 1006, as on a lost TCP connection.
 * - `end()` (the Connection closing its side) ends the downstream once its events are out;
 *   `destroy()` cuts it. Either way the transport is then `close`d and forgotten by its endpoint.
 */
import { timingSafeEqual } from "node:crypto";
import type { ServerResponse } from "node:http";
import { Duplex } from "node:stream";
import { Engine } from "../../protocol/engine.js";
import { encodeEvent } from "../../protocol/fallback/sse.js";
import { DownEvent } from "../../protocol/fallback/wire.js";
import type { EngineEvent, EngineHost } from "../../protocol/types.js";
import { messagePool } from "../lent-messages.js";
import { decodeUtf8, isUtf8 } from "../native.js";
import { type TimerEntry, wheel } from "../timer-wheel.js";
import { tokenDigest } from "./relay.js";

export interface FallbackTransportInit {
  /** The session id (public: it is in URLs). */
  session: string;
  /** The session's secret (never in a URL). */
  token: string;
  remoteAddress: string | undefined;
  /** Characters of written events kept for a resumed downstream. */
  replayBytes: number;
  /** How long the session waits for a new downstream after one broke (ms). */
  resumeTimeout: number;
  /** Called once, when the transport is over (ended or destroyed). */
  onGone: (transport: FallbackTransport) => void;
}

type WriteCallback = (error?: Error | null) => void;

function noop(): void {}

export class FallbackTransport extends Duplex implements TimerEntry {
  /** The session id. */
  readonly session: string;
  readonly remoteAddress: string | undefined;
  // Timer wheel entry (the resume timeout).
  deadline = -1;
  slot = -1;
  /** @internal */
  wheelNext: TimerEntry | null = null;
  /** @internal */
  wheelPrev: TimerEntry | null = null;

  readonly #token: Buffer;
  readonly #digest: Buffer;
  readonly #replayBytes: number;
  readonly #resumeTimeout: number;
  readonly #onGone: (transport: FallbackTransport) => void;
  readonly #decoder: Engine;
  #res: ServerResponse | null = null;
  /** The attached response said "stop writing" (res.write returned false). */
  #backedUp = false;
  /** The callback of the write that waits for the downstream. */
  #held: WriteCallback | null = null;
  /** Events made while no downstream was attached (index #written on). */
  #unsent: string[] = [];
  /** Written events kept for a resume: ring[#ringHead..] are events #ringStart... */
  #ring: string[] = [];
  #ringHead = 0;
  #ringStart = 0;
  #ringChars = 0;
  /** Events written to a downstream so far (the next event's index, when none is unsent). */
  #written = 0;
  /** Upstream bytes received so far. */
  #received = 0;
  /** POSTs waiting for the Connection to read again. */
  #readWaiters: Array<() => void> | null = null;
  /** The Connection ended its side: end the downstream once the events are out. */
  #ending: WriteCallback | null = null;
  #gone = false;
  /** A POST of this session is being read or delivered (the endpoint sets it). */
  posting = false;

  constructor(init: FallbackTransportInit) {
    super({ allowHalfOpen: false, decodeStrings: false });
    this.session = init.session;
    this.remoteAddress = init.remoteAddress;
    this.#token = Buffer.from(init.token);
    this.#digest = Buffer.from(tokenDigest(init.token));
    this.#replayBytes = init.replayBytes;
    this.#resumeTimeout = init.resumeTimeout;
    this.#onGone = init.onGone;
    const host: EngineHost = {
      output: noop,
      outputRange: noop,
      dispatch: (event) => this.#onServerEvent(event),
      awaitClose: noop,
      closeTransport: noop,
    };
    // The server's frames, decoded: a client-role engine that never answers (its output is
    // discarded), validating UTF-8 as a browser would (1007 goes to the client as a close).
    this.#decoder = new Engine(host, {
      role: "client",
      maxPayload: 0,
      maxFragments: 0,
      autoPong: false,
      isUtf8,
      decodeUtf8,
    });
  }

  /** Whether `token` is this session's secret (constant time). */
  matches(token: string): boolean {
    return same(token, this.#token);
  }

  /** Whether `digest` is the SHA-256 of this session's secret (a relayed post's; constant time). */
  matchesDigest(digest: string): boolean {
    return same(digest, this.#digest);
  }

  /** Events written so far (what a resumed downstream can start from, at most). */
  get eventCount(): number {
    return this.#written + this.#unsent.length;
  }

  /** Whether a downstream response is attached. */
  get attached(): boolean {
    return this.#res !== null;
  }

  // ---- downstream ---------------------------------------------------------------------------

  /** Whether a downstream can start at event `from` (it is still kept, or not sent yet). */
  canResume(from: number): boolean {
    return !this.#gone && from >= this.#ringStart && from <= this.eventCount;
  }

  /**
   * Make `res` (headers already written) the downstream, starting with the event of index
   * `from` (see {@link canResume}: false, and nothing done, when it cannot); `first` is written
   * before (the open event).
   */
  attach(res: ServerResponse, from: number, first?: string): boolean {
    if (!this.canResume(from)) return false;
    const previous = this.#res;
    if (previous !== null) {
      // The client has a new downstream: the old one is dead to it (a half-open connection).
      this.#res = null;
      previous.destroy();
    }
    wheel.cancel(this);
    this.#res = res;
    this.#backedUp = false;
    res.on("drain", () => this.#onDrain(res));
    res.on("close", () => this.#onResponseClose(res));
    let ok = true;
    if (first !== undefined) ok = res.write(first);
    for (let i = this.#ringHead + (from - this.#ringStart); i < this.#ring.length; i++) ok = res.write(this.#ring[i]!);
    const unsent = this.#unsent;
    this.#unsent = [];
    for (const event of unsent) {
      this.#keep(event);
      ok = res.write(event) && ok;
    }
    if (!ok) this.#backedUp = true;
    if (this.#ending !== null) this.#finish();
    else if (!this.#backedUp) this.#release();
    return true;
  }

  /** The client has received the events before `count`: they need not be kept any longer. */
  acknowledge(count: number): void {
    const upTo = Math.min(count, this.#written);
    while (this.#ringStart < upTo && this.#ringHead < this.#ring.length) this.#dropOldest();
  }

  #onServerEvent(event: EngineEvent): void {
    switch (event.type) {
      case "text": {
        const text = event.data;
        this.#emit(text.indexOf("\r") === -1 ? encodeEvent(text) : encodeEvent(JSON.stringify(text), DownEvent.text));
        return;
      }
      case "binary":
        this.#emit(encodeEvent(base64(event.data), DownEvent.binary));
        return;
      case "ping":
        this.#emit(encodeEvent(base64(event.data), DownEvent.ping));
        return;
      case "closing":
        this.#emit(encodeEvent(JSON.stringify({ code: event.code, reason: event.reason }), DownEvent.close));
        return;
      case "close":
        // The decoder failed on what the server sent (invalid UTF-8: 1007): tell the client, whose
        // close frame then reaches the server as a browser's would.
        if (!event.wasClean && event.code !== 1006 && event.code !== 1005) {
          this.#emit(encodeEvent(JSON.stringify({ code: event.code, reason: event.reason }), DownEvent.close));
        }
        return;
      default:
        return;
    }
  }

  #emit(event: string): void {
    const res = this.#res;
    if (res === null || this.#unsent.length > 0) {
      this.#unsent.push(event);
      return;
    }
    this.#keep(event);
    if (!res.write(event)) this.#backedUp = true;
  }

  /** Count `event` as written and keep it for a resume (within replayBytes). */
  #keep(event: string): void {
    this.#written++;
    this.#ring.push(event);
    this.#ringChars += event.length;
    while (this.#ringChars > this.#replayBytes && this.#ringHead < this.#ring.length) this.#dropOldest();
  }

  #dropOldest(): void {
    const ring = this.#ring;
    this.#ringChars -= ring[this.#ringHead]!.length;
    ring[this.#ringHead] = "";
    this.#ringHead++;
    this.#ringStart++;
    if (this.#ringHead === ring.length) {
      this.#ring = [];
      this.#ringHead = 0;
    } else if (this.#ringHead > 1024 && this.#ringHead * 2 > ring.length) {
      this.#ring = ring.slice(this.#ringHead);
      this.#ringHead = 0;
    }
  }

  #onDrain(res: ServerResponse): void {
    if (res !== this.#res) return;
    this.#backedUp = false;
    this.#release();
  }

  #onResponseClose(res: ServerResponse): void {
    if (res !== this.#res) return;
    this.#res = null;
    if (this.#gone) return;
    // The downstream broke: the client may resume within resumeTimeout.
    wheel.scheduleIn(this, this.#resumeTimeout);
  }

  /** Resume timeout: no new downstream came. */
  onTimer(): void {
    if (!this.#gone && this.#res === null) this.destroy();
  }

  /** Let the write that waits for the downstream complete. */
  #release(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    held();
  }

  /** The Connection ended its side and every event is written: end the response. */
  #finish(): void {
    const res = this.#res;
    const done = this.#ending;
    this.#ending = null;
    this.#gone = true;
    wheel.cancel(this);
    res?.end();
    this.#onGone(this);
    done?.();
    this.push(null);
  }

  // ---- upstream -----------------------------------------------------------------------------

  /**
   * The body of a POST that starts at upstream offset `offset`: 204 once taken (at once, or when
   * the Connection reads again), 409 for a gap, 404 when the session is over.
   */
  receive(offset: number, body: Uint8Array): number | Promise<number> {
    if (this.#gone || this.destroyed) return 404;
    if (offset > this.#received) return 409;
    const skip = this.#received - offset;
    if (skip >= body.length) return 204; // a retry of bytes already received
    const bytes = skip === 0 ? body : body.subarray(skip);
    this.#received += bytes.length;
    if (this.push(bytes)) return 204;
    return new Promise((resolve) => (this.#readWaiters ??= []).push(() => resolve(204)));
  }

  // ---- Duplex -------------------------------------------------------------------------------

  override _read(): void {
    const waiters = this.#readWaiters;
    if (waiters === null) return;
    this.#readWaiters = null;
    for (const resolve of waiters) resolve();
  }

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // A chunk of a lent message (lendMessages) is released once `callback` runs: borrowed, not kept.
    if (messagePool.out !== 0 && messagePool.isOut(chunk)) this.#decoder.receiveLent(chunk);
    else this.#decoder.receiveData(chunk);
    if (this.#res !== null && !this.#backedUp) callback();
    else this.#held = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#ending = callback;
    // Without a downstream, the last events wait for a resume (or the resume timeout).
    if (this.#res !== null) this.#finish();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    wheel.cancel(this);
    const res = this.#res;
    this.#res = null;
    // Cut, not ended: the client sees the stream break without a close event (1006).
    if (res !== null && !res.writableEnded) res.destroy();
    this._read(); // POSTs waiting for the Connection: their bytes were taken
    if (!this.#gone) {
      this.#gone = true;
      this.#onGone(this);
    }
    callback(error);
  }
}

function same(given: string, expected: Buffer): boolean {
  const bytes = Buffer.from(given);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
