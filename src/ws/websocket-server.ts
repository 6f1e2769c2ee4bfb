/**
 * `WebSocketServer` of `wirecable/ws`: ws 8's server. The same modes (`port` with its own
 * http.Server answering plain requests with 426, `server`, `noServer`), the same checks in the
 * same order with ws's statuses and messages (or a `wsClientError` event when listened to),
 * `shouldHandle`, `verifyClient` (sync and async), `handleProtocols(Set, req)`, the `headers`
 * event, `clientTracking`/`clients`, `handleUpgrade(req, socket, head, cb)` (cb gets the socket
 * and emits nothing itself) and ws's `close(cb)`, which leaves open connections alone. After the
 * 101 each socket is a {@link WebSocket} over a wirecable Connection.
 */
import { EventEmitter } from "node:events";
import http, { type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { serverDeflate } from "../node/extensions.js";
import { computeAccept } from "../node/native.js";
import type { ExtensionSession } from "../protocol/extensions/extension.js";
import { parseExtensions, renderExtension } from "../protocol/extensions/extension-header.js";
import { toDeflateOptions, type WsPerMessageDeflateOptions } from "./deflate-options.js";
import { CLOSE_TIMEOUT, settingsFrom, type UnhandledErrors } from "./socket-settings.js";
import { kInternal, WebSocket } from "./websocket.js";

const KEY = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;
const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;
const kHandled = Symbol("wirecable.ws.handled");

export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: IncomingMessage;
}
export type VerifyClientCallback = (
  verified: boolean,
  code?: number,
  message?: string,
  headers?: Record<string, string | number>,
) => void;

export interface WsServerOptions {
  allowSynchronousEvents?: boolean;
  autoPong?: boolean;
  backlog?: number;
  clientTracking?: boolean;
  closeTimeout?: number;
  handleProtocols?: ((protocols: Set<string>, request: IncomingMessage) => string | false) | null;
  host?: string;
  maxPayload?: number;
  noServer?: boolean;
  path?: string;
  perMessageDeflate?: boolean | WsPerMessageDeflateOptions;
  port?: number;
  server?: Server | import("node:https").Server;
  skipUTF8Validation?: boolean;
  /** Sync (return a boolean, one parameter) or async (call `callback`, two parameters), as ws. */
  verifyClient?: ((info: VerifyClientInfo, callback: VerifyClientCallback) => unknown) | null;
  WebSocket?: typeof WebSocket;
  /** wirecable: "ignore" makes an unheard socket `error` harmless (ws: it crashes the process). */
  unhandledErrors?: UnhandledErrors;
  [option: string]: unknown;
}

export type Resolved = WsServerOptions & {
  allowSynchronousEvents: boolean;
  autoPong: boolean;
  clientTracking: boolean;
  closeTimeout: number;
  maxPayload: number;
  WebSocket: typeof WebSocket;
};

export type Listener<A extends unknown[]> = (this: WebSocketServer, ...args: A) => void;

export interface WebSocketServer {
  on(event: "connection", listener: Listener<[socket: WebSocket, request: IncomingMessage]>): this;
  on(event: "error", listener: Listener<[error: Error]>): this;
  on(event: "headers", listener: Listener<[headers: string[], request: IncomingMessage]>): this;
  on(event: "close" | "listening", listener: Listener<[]>): this;
  on(event: "wsClientError", listener: Listener<[error: Error, socket: Duplex, request: IncomingMessage]>): this;
  // biome-ignore lint/suspicious/noExplicitAny: other events, as EventEmitter
  on(event: string | symbol, listener: (this: WebSocketServer, ...args: any[]) => void): this;
  once(event: "connection", listener: Listener<[socket: WebSocket, request: IncomingMessage]>): this;
  once(event: "error", listener: Listener<[error: Error]>): this;
  once(event: "headers", listener: Listener<[headers: string[], request: IncomingMessage]>): this;
  once(event: "close" | "listening", listener: Listener<[]>): this;
  // biome-ignore lint/suspicious/noExplicitAny: other events, as EventEmitter
  once(event: string | symbol, listener: (this: WebSocketServer, ...args: any[]) => void): this;
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: typed event overloads for the class
export class WebSocketServer extends EventEmitter {
  readonly options: Resolved;
  clients: Set<WebSocket> | undefined;
  #server: Server | null = null;
  #removeListeners: (() => void) | null = null;
  #state = RUNNING;
  #shouldEmitClose = false;

  constructor(options: WsServerOptions, callback?: () => void) {
    super();
    const opts: Resolved = {
      allowSynchronousEvents: true,
      autoPong: true,
      maxPayload: 100 * 1024 * 1024,
      skipUTF8Validation: false,
      perMessageDeflate: false,
      handleProtocols: null,
      clientTracking: true,
      closeTimeout: CLOSE_TIMEOUT,
      verifyClient: null,
      noServer: false,
      WebSocket,
      ...options,
    };
    if (
      (opts.port == null && !opts.server && !opts.noServer) ||
      (opts.port != null && (opts.server || opts.noServer)) ||
      (opts.server && opts.noServer)
    ) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    if (opts.port != null) {
      this.#server = http.createServer((_req, res) => {
        const body = http.STATUS_CODES[426]!;
        res.writeHead(426, { "Content-Length": body.length, "Content-Type": "text/plain" });
        res.end(body);
      });
      this.#server.listen(opts.port, opts.host, opts.backlog, callback);
    } else if (opts.server) {
      this.#server = opts.server as Server;
    }
    if (this.#server !== null) {
      const server = this.#server;
      // biome-ignore lint/suspicious/noExplicitAny: listeners of several event signatures
      const map: Record<string, (...args: any[]) => void> = {
        listening: () => this.emit("listening"),
        error: (error: Error) => this.emit("error", error),
        upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) =>
          this.handleUpgrade(req, socket, head, (ws, request) => this.emit("connection", ws, request)),
      };
      for (const [event, fn] of Object.entries(map)) server.on(event, fn);
      this.#removeListeners = () => {
        for (const [event, fn] of Object.entries(map)) server.removeListener(event, fn);
      };
    }
    if (opts.perMessageDeflate === true) opts.perMessageDeflate = {};
    if (opts.clientTracking) this.clients = new Set();
    this.options = opts;
  }

  address(): ReturnType<Server["address"]> {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    if (this.#server === null) return null;
    return this.#server.address();
  }

  close(cb?: (err?: Error) => void): void {
    if (this.#state === CLOSED) {
      if (cb) this.once("close", () => cb(new Error("The server is not running")));
      process.nextTick(() => this.#emitClose());
      return;
    }
    if (cb) this.once("close", cb);
    if (this.#state === CLOSING) return;
    this.#state = CLOSING;
    if (this.options.noServer || this.options.server) {
      if (this.#server !== null) {
        this.#removeListeners?.();
        this.#removeListeners = null;
        this.#server = null;
      }
      if (this.clients && this.clients.size > 0) this.#shouldEmitClose = true;
      else process.nextTick(() => this.#emitClose());
    } else {
      const server = this.#server!;
      this.#removeListeners?.();
      this.#removeListeners = null;
      this.#server = null;
      server.close(() => this.#emitClose());
    }
  }

  #emitClose(): void {
    this.#state = CLOSED;
    this.emit("close");
  }

  /** Whether this server takes the request (by `path`); override to route differently. */
  shouldHandle(req: IncomingMessage): boolean {
    if (this.options.path) {
      const url = req.url ?? "/";
      const index = url.indexOf("?");
      const pathname = index !== -1 ? url.slice(0, index) : url;
      if (pathname !== this.options.path) return false;
    }
    return true;
  }

  handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    cb: (ws: WebSocket, request: IncomingMessage) => void,
  ): void {
    socket.on("error", socketOnError);
    const key = req.headers["sec-websocket-key"];
    const upgrade = req.headers.upgrade;
    const version = Number(req.headers["sec-websocket-version"]);
    if (req.method !== "GET") {
      this.#refuse(req, socket, 405, "Invalid HTTP method");
      return;
    }
    if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") {
      this.#refuse(req, socket, 400, "Invalid Upgrade header");
      return;
    }
    if (key === undefined || !KEY.test(key)) {
      this.#refuse(req, socket, 400, "Missing or invalid Sec-WebSocket-Key header");
      return;
    }
    if (version !== 13 && version !== 8) {
      this.#refuse(req, socket, 400, "Missing or invalid Sec-WebSocket-Version header", {
        "Sec-WebSocket-Version": "13, 8",
      });
      return;
    }
    if (!this.shouldHandle(req)) {
      abortHandshake(socket, 400);
      return;
    }
    const offered = req.headers["sec-websocket-protocol"];
    let protocols = new Set<string>();
    if (offered !== undefined) {
      const parsed = parseSubprotocols(offered);
      if (parsed === null) {
        this.#refuse(req, socket, 400, "Invalid Sec-WebSocket-Protocol header");
        return;
      }
      protocols = parsed;
    }
    const negotiated = this.#negotiate(req.headers["sec-websocket-extensions"]);
    if (negotiated === null) {
      this.#refuse(req, socket, 400, "Invalid or unacceptable Sec-WebSocket-Extensions header");
      return;
    }
    const verify = this.options.verifyClient;
    if (verify) {
      // ws tells sync from async verifyClient by its number of parameters.
      const info: VerifyClientInfo = {
        origin: req.headers[version === 8 ? "sec-websocket-origin" : "origin"] as string | undefined,
        secure: !!(
          (req.socket as Socket & { authorized?: boolean; encrypted?: boolean }).authorized ||
          (req.socket as Socket & { encrypted?: boolean }).encrypted
        ),
        req,
      };
      if (verify.length === 2) {
        verify(info, (verified, code, message, headers) => {
          if (!verified) return abortHandshake(socket, code || 401, message, headers);
          this.completeUpgrade(negotiated, key, protocols, req, socket, head, cb);
        });
        return;
      }
      if (!(verify as (info: VerifyClientInfo) => boolean)(info)) {
        abortHandshake(socket, 401);
        return;
      }
    }
    this.completeUpgrade(negotiated, key, protocols, req, socket, head, cb);
  }

  /** The accepted permessage-deflate, none (an empty list), or null when the header is invalid. */
  #negotiate(header: string | undefined): Negotiated | null {
    const pmd = this.options.perMessageDeflate;
    if (!pmd || header === undefined) return { sessions: [], names: "", header: "" };
    const offers = parseExtensions(header);
    if (offers === null) return null;
    const extension = serverDeflate(toDeflateOptions(pmd === true ? {} : pmd, this.options.maxPayload));
    const mine = offers.filter((offer) => offer.name === extension.name);
    if (mine.length === 0) return { sessions: [], names: "", header: "" };
    const accepted = extension.negotiate(mine);
    if (accepted === null) return null;
    return {
      sessions: [accepted.session],
      names: extension.name,
      header: renderExtension(extension.name, accepted.params),
    };
  }

  completeUpgrade(
    negotiated: Negotiated,
    key: string,
    protocols: Set<string>,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    cb: (ws: WebSocket, request: IncomingMessage) => void,
  ): void {
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    const marked = socket as Duplex & { [kHandled]?: boolean };
    if (marked[kHandled]) {
      throw new Error(
        "server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration",
      );
    }
    if (this.#state > RUNNING) {
      abortHandshake(socket, 503);
      return;
    }
    marked[kHandled] = true;
    const headers = [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${computeAccept(key)}`,
    ];
    const ws = new this.options.WebSocket(null, undefined, this.options as never);
    let protocol = "";
    if (protocols.size > 0) {
      const chosen = this.options.handleProtocols
        ? this.options.handleProtocols(protocols, req)
        : protocols.values().next().value;
      if (chosen) {
        headers.push(`Sec-WebSocket-Protocol: ${chosen}`);
        protocol = chosen;
      }
    }
    if (negotiated.header !== "") headers.push(`Sec-WebSocket-Extensions: ${negotiated.header}`);
    this.emit("headers", headers, req);
    socket.write(headers.concat("\r\n").join("\r\n"));
    socket.removeListener("error", socketOnError);
    ws[kInternal].settings = settingsFrom(this.options);
    ws[kInternal].adopt(socket, head, "server", protocol, negotiated.sessions, negotiated.names, negotiated.header);
    const clients = this.clients;
    if (clients) {
      clients.add(ws);
      ws.on("close", () => {
        clients.delete(ws);
        if (this.#shouldEmitClose && clients.size === 0) process.nextTick(() => this.#emitClose());
      });
    }
    cb(ws, req);
  }

  /** ws's abortHandshakeOrEmitwsClientError. */
  #refuse(req: IncomingMessage, socket: Duplex, code: number, message: string, headers?: Record<string, string>): void {
    if (this.listenerCount("wsClientError") > 0) {
      const err = new Error(message);
      this.emit("wsClientError", err, socket, req);
    } else {
      abortHandshake(socket, code, message, headers);
    }
  }
}

export interface Negotiated {
  sessions: ExtensionSession[];
  names: string;
  header: string;
}

function socketOnError(this: Duplex): void {
  this.destroy();
}

function abortHandshake(
  socket: Duplex,
  code: number,
  message?: string,
  headers?: Record<string, string | number>,
): void {
  const body = message || http.STATUS_CODES[code] || "";
  const all: Record<string, string | number> = {
    Connection: "close",
    "Content-Type": "text/html",
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  };
  socket.once("finish", socket.destroy);
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\n` +
      Object.keys(all)
        .map((h) => `${h}: ${all[h]}`)
        .join("\r\n") +
      "\r\n\r\n" +
      body,
  );
}

/** ws's subprotocol list: comma-separated tokens, optional whitespace, no duplicates. */
export function parseSubprotocols(header: string): Set<string> | null {
  const protocols = new Set<string>();
  for (const part of header.split(",")) {
    const token = part.trim();
    if (!TOKEN.test(token) || protocols.has(token)) return null;
    protocols.add(token);
  }
  return protocols;
}
