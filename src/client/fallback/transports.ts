/**
 * Which transport a ReconnectingWebSocket attempt uses: the WebSocket, or the HTTP fallback
 * ({@link FallbackSocket}) when the WebSocket looks blocked.
 *
 * Contract:
 * - `transports` lists what may be used, in order: ["websocket", "sse"] by default; a list of
 *   one forces that transport (["websocket"]: never fall back; ["sse"]: never try WebSockets).
 * - An attempt starts with the WebSocket unless the WebSocket of that URL (host and path) looked
 *   blocked within the last `fallback.remember` ms (shared by every client of the page). It
 *   falls back, within the same attempt, when the WebSocket fails the way a blocking network
 *   makes it fail: closed before it ever opened (1006 before open: a proxy's error status, a
 *   refused or reset upgrade) or not open within `fallback.timeout` ms (a proxy holding the
 *   upgrade). A fallback that opens after such a failure is remembered; one that fails too is an
 *   ordinary failed attempt (the server is down, most likely), remembered by nothing: the next
 *   attempt tries the WebSocket first again, as does every attempt once `remember` has passed.
 */
import type { FallbackPolicy, TransportName, WebSocketConstructorLike, WebSocketLike } from "../types.js";
import { FallbackSocket } from "./fallback-socket.js";

export const DEFAULT_TRANSPORTS: readonly TransportName[] = ["websocket", "sse"];

/** URL key -> until when its WebSocket is taken as blocked (the page's memory). */
const blocked = new Map<string, number>();

function keyOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return url;
  }
}

export class TransportChoice {
  readonly #list: readonly TransportName[];
  readonly #timeout: number;
  readonly #remember: number;
  readonly #fetch: typeof fetch | undefined;
  readonly #now: () => number;

  constructor(transports: readonly TransportName[] | undefined, policy: FallbackPolicy | undefined, now: () => number) {
    const list = transports ?? DEFAULT_TRANSPORTS;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      new Set(list).size !== list.length ||
      list.some((t) => t !== "websocket" && t !== "sse")
    ) {
      throw new TypeError(`transports must list "websocket" and/or "sse" once each, got ${JSON.stringify(list)}`);
    }
    this.#list = [...list];
    this.#timeout = policy?.timeout ?? 4000;
    this.#remember = policy?.remember ?? 600_000;
    if (!(this.#timeout >= 0)) throw new RangeError(`fallback.timeout must be a number >= 0, got ${this.#timeout}`);
    if (!(this.#remember >= 0)) throw new RangeError(`fallback.remember must be a number >= 0, got ${this.#remember}`);
    this.#fetch = policy?.fetch;
    this.#now = now;
  }

  /** The transport an attempt on `url` starts with. */
  first(url: string): TransportName {
    const first = this.#list[0]!;
    if (first === "websocket" && this.#list.length > 1) {
      const until = blocked.get(keyOf(url));
      if (until !== undefined && this.#now() < until) return "sse";
    }
    return first;
  }

  /** What to try, in the same attempt, after `failed` closed before opening (or timed out). */
  next(failed: TransportName): TransportName | null {
    const at = this.#list.indexOf(failed);
    return at === -1 || at + 1 >= this.#list.length ? null : this.#list[at + 1]!;
  }

  /** How long a WebSocket may take to open before the fallback is tried (0: no such timer). */
  get fallbackTimeout(): number {
    return this.next("websocket") === null ? 0 : this.#timeout;
  }

  /** The fallback opened after the WebSocket of `url` failed: use it for a while. */
  remember(url: string): void {
    if (this.#remember > 0) blocked.set(keyOf(url), this.#now() + this.#remember);
  }

  /** The WebSocket of `url` opened: forget that it looked blocked. */
  forget(url: string): void {
    blocked.delete(keyOf(url));
  }

  create(
    transport: TransportName,
    WebSocket: WebSocketConstructorLike,
    url: string,
    protocols: string | string[] | undefined,
  ): WebSocketLike {
    if (transport === "sse") return new FallbackSocket(url, protocols, { fetch: this.#fetch });
    return protocols === undefined ? new WebSocket(url) : new WebSocket(url, protocols);
  }
}
