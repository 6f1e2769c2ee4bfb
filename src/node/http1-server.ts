/**
 * The HTTP/1.1 side of WebSocketServer (RFC 6455 section 4.2): routing the `upgrade` events of
 * an http/https server, and answering an upgrade on its socket.
 *
 * Contract:
 * - {@link attachUpgrades}: all WebSocketServers attached to the same HTTP server share ONE
 *   `upgrade` listener (a router) that picks the server whose `path` equals the request's path
 *   (a server without `path` takes what no other claims). When no server claims a request, the
 *   router answers 400 and destroys the socket ONLY if it is the sole `upgrade` listener:
 *   otherwise another listener (the application's, another library's) may handle it, and the
 *   socket is left alone (as ws does).
 * - {@link UpgradeAdmission}: the {@link Admission} of an upgrade request: refused with an HTTP
 *   response on the socket, which is then closed ({@link answerAndClose}); accepted with the
 *   RFC 6455 handshake's 101 (or its 400/405/426, a `rejected` event) and a {@link Connection}
 *   on the socket, or with a hixie-75/76 driver under `legacyDrafts`.
 */
import type { Server as HttpServer, IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { HandshakeError } from "../protocol/errors.js";
import { acceptHandshake, renderRejection } from "../protocol/handshake/server-handshake.js";
import { type AcceptContext, type Admission, pathOf, routeByPath } from "./admission.js";
import { Connection } from "./connection.js";
import { createHybiEngine, legacyUpgrade } from "./engines.js";
import { computeAccept, encodeLatin1, renderSwitching } from "./native.js";
import { acceptSafely, type BackpressurePolicy } from "./options.js";
import { ignoreSocketError } from "./raw-listener.js";

/** Whoever takes the upgrades of an HTTP server (a WebSocketServer). */
export interface UpgradeHandler {
  readonly path: string | undefined;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
const routers = new WeakMap<HttpServer, { handlers: Set<UpgradeHandler>; listener: UpgradeListener }>();

/** Route the server's upgrades to `handler` too (see the module comment). */
export function attachUpgrades(server: HttpServer, handler: UpgradeHandler): void {
  let router = routers.get(server);
  if (router === undefined) {
    const handlers = new Set<UpgradeHandler>();
    const listener: UpgradeListener = (req, socket, head) => {
      const claimant = routeByPath(handlers, pathOf(req.url));
      if (claimant !== undefined) {
        claimant.handleUpgrade(req, socket, head);
        return;
      }
      // Unclaimed: leave it to the other listeners if there are any.
      if (server.listenerCount("upgrade") > 1) return;
      socket.on("error", ignoreSocketError);
      answerAndClose(socket, renderRejection(400, {}, "No WebSocket endpoint at this path"));
    };
    router = { handlers, listener };
    routers.set(server, router);
    server.on("upgrade", listener);
  }
  router.handlers.add(handler);
}

export function detachUpgrades(server: HttpServer, handler: UpgradeHandler): void {
  const router = routers.get(server);
  if (router === undefined) return;
  router.handlers.delete(handler);
  if (router.handlers.size === 0) {
    server.off("upgrade", router.listener);
    routers.delete(server);
  }
}

/**
 * Write a refusal and close: destroy once it is flushed, or 1 s later for a peer that does not
 * read. The socket must not wait for the peer's FIN: after the upgrade's hand-over nobody reads
 * it (node:http leaves it paused), so a peer's FIN or RST would go unnoticed and the descriptor
 * would outlive the connection (issue 25, finding 6: a refused handshake followed by a frame and
 * a RST left the socket open with the kernel's connection gone).
 */
function answerAndClose(socket: Duplex, bytes: Uint8Array): void {
  if (socket.destroyed) return;
  socket.end(bytes);
  const timer = setTimeout(() => socket.destroy(), 1000);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  socket.once("finish", () => socket.destroy());
}

/** The admission of an upgrade request on `socket` (see the module comment). */
export class UpgradeAdmission<P extends BackpressurePolicy> implements Admission<Connection<P>> {
  readonly req: IncomingMessage;
  readonly #socket: Duplex;
  readonly #head: Buffer;
  readonly #context: AcceptContext;
  constructor(req: IncomingMessage, socket: Duplex, head: Buffer, context: AcceptContext) {
    this.req = req;
    this.#socket = socket;
    this.#head = head;
    this.#context = context;
  }

  get gone(): boolean {
    return this.#socket.destroyed || !this.#socket.writable;
  }

  refuse(error: HandshakeError, body?: string | Uint8Array): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    let bytes: Uint8Array;
    try {
      bytes = renderRejection(error.status, error.headers as Record<string, string>, body || error.message);
    } catch {
      bytes = renderRejection(error.status);
    }
    answerAndClose(socket, bytes);
  }

  accept(data: unknown): Connection<P> | null {
    return acceptUpgrade<P>(this.req, this.#socket as Socket, this.#head, data, this.#context);
  }
}

function acceptUpgrade<P extends BackpressurePolicy>(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  data: unknown,
  context: AcceptContext,
): Connection<P> | null {
  if (context.legacyDrafts) {
    let conn: Connection<P> | null;
    try {
      conn = legacyUpgrade<P>(req, socket, head, {
        options: context.connectionOptions,
        protocols: context.userProtocols,
        headers: context.headers,
        data,
      });
    } catch (error) {
      socket.destroy();
      throw error;
    }
    if (conn !== null) return conn;
  }
  const request = {
    method: req.method ?? "GET",
    target: req.url ?? "/",
    httpVersion: req.httpVersion,
    headers: req.headers,
    req,
  };
  const result = acceptSafely(acceptHandshake, request, {
    protocols: context.protocols,
    extensions: context.extensions,
    headers: context.headers,
    computeAccept,
    encodeHead: encodeLatin1,
    renderSwitching,
  });
  if (!result.ok) {
    context.rejected(req, result.error);
    answerAndClose(socket, result.response);
    return null;
  }
  socket.write(result.response);
  try {
    return new Connection<P>({
      role: "server",
      socket,
      createEngine: createHybiEngine,
      options: context.connectionOptions,
      protocol: result.protocol,
      extensions: result.extensions,
      extensionsHeader: result.extensionsHeader,
      head,
      request: req,
      data,
    });
  } catch (error) {
    socket.destroy();
    throw error;
  }
}
