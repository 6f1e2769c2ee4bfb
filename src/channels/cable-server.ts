/**
 * CableServer: the cable mounted on wirecable's WebSocketServer, at a path of any HTTP(S)
 * server (`server`), standalone (`port`), or on a WebSocketServer you made (`wss`).
 *
 * Contract: the subprotocol is chosen like Rails (actioncable-v1-json when offered, see
 * selectProtocol); each connection is a CableConnection fed text messages; broadcasts are framed
 * once with prepareMessage and the same frame is written to every subscriber with the same
 * identifier, as the server's own broadcasts are (Connection.sendPrepared: dropped for a slow
 * consumer); `close()` sends server_restart (reconnect: true) to every client first.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { CableError } from "../cable/errors.js";
import { DEFAULT_MOUNT_PATH, selectProtocol } from "../cable/protocol.js";
import {
  type BackpressurePolicy,
  type Connection,
  type FallbackOptions,
  type PreparedMessage,
  ProtocolError,
  prepareMessage,
  type ServerOptions,
  WebSocketServer,
} from "../node/index.js";
import { MemoryBroker } from "./brokers/memory.js";
import type { CableConnection } from "./cable-connection.js";
import { CableCore, type CableCoreOptions } from "./cable-core.js";
import { brokerRelay } from "./fallback-relay.js";
import type { CableTransport } from "./transport.js";

export interface CableServerOptions extends Omit<CableCoreOptions, "prepare"> {
  /** Mount on this HTTP(S) server at `path`. */
  server?: HttpServer | HttpsServer;
  /** Or listen on this port (0: ephemeral; read `address()` after `ready`). */
  port?: number;
  host?: string;
  /** Or use this WebSocketServer; give it `protocols: (offered) => selectProtocol(offered)`. */
  wss?: WebSocketServer<BackpressurePolicy>;
  /** Mount path (default "/cable", Rails' default_mount_path). */
  path?: string;
  /** Extra options for the WebSocketServer we create (origins, maxConnections, deflate...). */
  websocket?: Omit<ServerOptions, "server" | "port" | "host" | "path" | "protocols" | "noServer" | "fallback">;
  /**
   * Also serve clients whose network blocks WebSockets, over plain HTTP on the same path
   * (docs/fallback.md); wirecable/client's consumer falls back to it by itself. Default false.
   * With a broker other than the in-memory one, POSTs landing on another process reach their
   * session through the broker (`brokerRelay`). In `server` mode, route requests with
   * `cable.handleRequest(req, res)`.
   */
  fallback?: boolean | FallbackOptions;
}

export class CableServer extends CableCore {
  readonly wss: WebSocketServer<BackpressurePolicy>;
  /** Resolves when listening (at once when mounted on a server that already listens). */
  readonly ready: Promise<void>;
  readonly #ownsWss: boolean;

  constructor(options: CableServerOptions) {
    super({ ...options, prepare: (text) => prepareMessage(text) });
    this.#ownsWss = options.wss === undefined;
    if (options.wss !== undefined) {
      this.wss = options.wss;
    } else {
      const wsOptions: ServerOptions = {
        // A message over the command limit is refused (1009) by the WebSocket layer before it is
        // buffered, and reported below as COMMAND_TOO_LARGE.
        maxPayload: this.limits.maxCommandSize,
        ...options.websocket,
        path: options.path ?? DEFAULT_MOUNT_PATH,
        protocols: (offered) => selectProtocol(offered),
      };
      if (options.fallback) {
        const given = options.fallback === true ? {} : options.fallback;
        const shared = !(this.broker instanceof MemoryBroker);
        wsOptions.fallback = { ...given, relay: given.relay ?? (shared ? brokerRelay(this.broker) : undefined) };
      }
      if (options.server !== undefined) wsOptions.server = options.server;
      else {
        wsOptions.port = options.port ?? 0;
        if (options.host !== undefined) wsOptions.host = options.host;
      }
      this.wss = new WebSocketServer(wsOptions);
    }
    this.ready = this.wss.ready;
    this.wss.on("connection", (conn, req) => this.#attach(conn, req));
  }

  #attach(conn: Connection<BackpressurePolicy>, req: IncomingMessage): CableConnection {
    const cable = this.accept(new ConnectionTransport(conn), req);
    conn.on("message", (data, isBinary) => {
      if (isBinary) {
        // The ActionCable protocol is JSON text; its client never sends binary.
        this.emit("error", new CableError("MALFORMED_COMMAND", "binary message ignored"), cable);
        return;
      }
      cable.receive(typeof data === "string" ? data : data.toString("utf8"));
    });
    conn.on("error", (err: Error) => {
      // What the WebSocket layer refused (a message over maxPayload: 1009; bad frames, bad
      // UTF-8) is reported like a refused command, so that it shows in the server's log.
      if (!(err instanceof ProtocolError)) return;
      const code = err.closeCode === 1009 ? "COMMAND_TOO_LARGE" : "MALFORMED_COMMAND";
      this.emit("error", new CableError(code, `${err.message} (closed with ${err.closeCode})`, { cause: err }), cable);
    });
    conn.on("close", () => void cable.closed());
    return cable;
  }

  /**
   * Answer a request of the HTTP fallback (`fallback` option) and return true; false for any
   * other request. Call it first in the request handler of the `server` the cable is mounted on.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    return this.wss.handleRequest(req, res);
  }

  address(): ReturnType<WebSocketServer["address"]> {
    return this.wss.address();
  }

  /** Disconnect every client with server_restart (reconnect: true), then stop listening. */
  async close(options: { reason?: string; reconnect?: boolean } = {}): Promise<void> {
    await this.shutdown(options);
    if (this.#ownsWss) await this.wss.close();
  }
}

/**
 * A Connection as a cable transport. A class, not an object of closures: a broadcast calls
 * `send` once per subscriber, and a shared method reaches the connection in one step (one object
 * per socket touched, not three).
 */
class ConnectionTransport implements CableTransport {
  readonly #conn: Connection<BackpressurePolicy>;

  constructor(conn: Connection<BackpressurePolicy>) {
    this.#conn = conn;
  }

  get protocol(): string {
    return this.#conn.protocol;
  }

  send(data: string | PreparedMessage): void {
    if (typeof data !== "string") {
      this.#conn.sendPrepared(data);
      return;
    }
    const result = this.#conn.send(data);
    if (result instanceof Promise) result.catch(() => {}); // backpressure "wait": closed meanwhile
  }

  close(code?: number, reason?: string): void {
    this.#conn.close(code, reason);
  }
}
