/**
 * How a connection reports its end. RFC 6455 7.1.4: the WebSocket is closed once the closing
 * handshake is over (or the connection failed) AND the transport is closed.
 *
 * Contract: the engine's close is kept in `info` when it comes; `emit` reports it once, with the
 * `close` event and the `closed` promise, and only once `info` is in (the connection calls it
 * when the transport is closed too). `promise` may be asked for before or after. It is part of
 * the connection's rare state (connection-rare.ts): an open connection usually holds none.
 */
import type { AnyConnection } from "./connection.js";
import type { CloseInfo } from "./connection-types.js";
import { emitSafe } from "./shaped-emitter.js";

export class CloseReport {
  info: CloseInfo | undefined = undefined;
  /** `close` was emitted: the closing handshake is over and the transport closed. */
  emitted = false;
  #promise: Promise<CloseInfo> | null = null;
  #resolve: ((info: CloseInfo) => void) | null = null;

  /** The `closed` promise, made on first use (most connections are never awaited). */
  get promise(): Promise<CloseInfo> {
    return (this.#promise ??= this.emitted
      ? Promise.resolve(this.info!)
      : new Promise((resolve) => (this.#resolve = resolve)));
  }

  /** Report the close on `conn`: once, and only once the engine's close is in. */
  emit(conn: AnyConnection): void {
    const info = this.info;
    if (info === undefined || this.emitted) return;
    this.emitted = true;
    emitSafe(conn, "close", info.code, info.reason, info.wasClean);
    this.#resolve?.(info);
    this.#resolve = null;
  }
}
