/**
 * Admission: the checks a WebSocketServer runs on every WebSocket request before it becomes a
 * {@link Connection}, whatever carries the request: an HTTP/1.1 upgrade (http1-server.ts), an
 * HTTP/2 extended CONNECT (RFC 8441, http2-server.ts) or a fallback `open` (fallback/endpoint.ts).
 *
 * Contract:
 * - Each carrier implements {@link Admission}: how its request is refused (an HTTP error on a
 *   socket, on a stream, in a response) and how it is accepted (the handshake's answer and the
 *   Connection). The checks know nothing of sockets, streams or responses.
 * - {@link AdmissionChecks#admit} runs, in order, each refusal with a `rejected` event: closing
 *   server (503), path (400), origin (403), capacity (503 + Retry-After), `authenticate` (its
 *   status, headers, body; 500 if it throws something else); then `accept` with authenticate's
 *   data, and the server adopts the connection (once open: draft-76 opens after its key).
 *   A handshake timeout (408) covers `authenticate`, on the process-wide timer wheel (one entry
 *   for all, deadline-queue.ts); without `authenticate` nothing waits before the answer: no
 *   pending entry, no timer.
 * - {@link AdmissionChecks#admitParsed}: a request node has parsed gets its header caps (431)
 *   checked first, unless the server is closing (the 503 wins); the standalone listener's parser
 *   enforces them itself.
 * - `accept` may throw once it has cleaned up its transport: the error goes to the server's
 *   `error` event. A user callback that throws never escapes either.
 */
import type { IncomingMessage } from "node:http";
import { HandshakeError } from "../protocol/errors.js";
import type { ServerExtension } from "../protocol/extensions/extension.js";
import type { HandshakeRequest, ServerHandshakeOptions } from "../protocol/handshake/server-handshake.js";
import type { AnyConnection } from "./connection.js";
import { DeadlineQueue, type QueuedEntry } from "./deadline-queue.js";
import { Rejection, type ResolvedConnectionOptions, SERVER_DEFAULTS, type ServerOptions } from "./options.js";
import { compileOrigins, requestOrigin } from "./origin.js";

/** How a request waiting for admission is answered, by the transport that carries it. */
export interface Admission<C extends AnyConnection = AnyConnection> {
  readonly req: IncomingMessage;
  /** The client went away meanwhile: there is nothing to accept. */
  readonly gone: boolean;
  /** Answer with the error's status and headers, `body` (else the error's message) as the body. */
  refuse(error: HandshakeError, body?: string | Uint8Array): void;
  /** Complete the handshake with `authenticate`'s data: the connection, or null if none was made. */
  accept(data: unknown): C | null;
}

/** The `protocols` option as the handshake calls it (the request carries node's `req`). */
export type ServerProtocols = ServerHandshakeOptions["protocols"];

/** What accepting a WebSocket needs from the server's options: one object per server. */
export interface AcceptContext {
  readonly connectionOptions: ResolvedConnectionOptions;
  readonly protocols: ServerProtocols;
  readonly extensions: ServerExtension[];
  readonly headers: Record<string, string> | undefined;
  /** `legacyDrafts`: hixie-75/76 requests go to their drivers (HTTP/1.1 upgrades only). */
  readonly legacyDrafts: boolean;
  /** The `protocols` option as given (the hixie drivers call it with node's `req`). */
  readonly userProtocols: ServerOptions["protocols"];
  /** A request the handshake itself refused: the server's `rejected` event. */
  rejected(req: IncomingMessage, error: HandshakeError): void;
}

/** The `protocols` option as the handshake calls it. */
export function serverProtocols(protocols: ServerOptions["protocols"]): ServerProtocols {
  return typeof protocols === "function"
    ? (offered: string[], request: HandshakeRequest) =>
        protocols(offered, (request as HandshakeRequest & { req: IncomingMessage }).req)
    : protocols;
}

/** What the checks need from their server. */
export interface AdmissionHost {
  /** The server is closing: every request is refused with 503. */
  readonly closing: boolean;
  /** Open connections (the capacity counts them with the handshakes waiting for `authenticate`). */
  readonly open: number;
  error(error: Error): void;
  rejected(req: IncomingMessage, error: HandshakeError): void;
  /** Hand out an accepted connection (`cb`: the caller's, run before the `connection` event). */
  adopt(conn: AnyConnection, req: IncomingMessage, cb: ((conn: AnyConnection) => void) | undefined): void;
}

/** The path part of a request target. */
export function pathOf(target: string | undefined): string {
  if (target === undefined) return "/";
  const q = target.indexOf("?");
  return q === -1 ? target : target.slice(0, q);
}

/**
 * The handler of a request for `path` among several sharing one server: the one whose `path`
 * equals it, else the first without a path (it takes what no other claims).
 */
export function routeByPath<H extends { readonly path: string | undefined }>(
  handlers: Iterable<H>,
  path: string,
): H | undefined {
  let fallback: H | undefined;
  for (const candidate of handlers) {
    if (candidate.path === path) return candidate;
    if (candidate.path === undefined && fallback === undefined) fallback = candidate;
  }
  return fallback;
}

/** What a user callback threw, as the Error the `error` event carries. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

/** A request waiting for `authenticate` (queued for the handshake timeout). */
class PendingAdmission implements QueuedEntry {
  // DeadlineQueue's links.
  expires = 0;
  older: PendingAdmission | null = null;
  newer: PendingAdmission | null = null;
  queued = false;
  done = false;
  readonly admission: Admission;
  constructor(admission: Admission) {
    this.admission = admission;
  }
}

export class AdmissionChecks {
  readonly #host: AdmissionHost;
  readonly #path: string | undefined;
  readonly #originCheck: ((origin: string | undefined, req: IncomingMessage) => boolean) | undefined;
  readonly #authenticate: ((req: IncomingMessage) => unknown) | undefined;
  readonly #maxConnections: number;
  readonly #retryAfter: string;
  /** The resolved options, also for the server's listeners (the head's arrival, node's parser). */
  readonly handshakeTimeout: number;
  readonly maxHeaderCount: number;
  readonly maxHeaderBytes: number;
  /** Requests waiting for `authenticate`. */
  #pending = 0;
  /** Those of them within `handshakeTimeout` (one wheel entry for all); null without a timeout. */
  readonly #waiting: DeadlineQueue<PendingAdmission> | null;

  constructor(host: AdmissionHost, options: ServerOptions) {
    this.#host = host;
    this.#path = options.path;
    if (options.origins !== undefined) this.#originCheck = compileOrigins(options.origins);
    this.#authenticate = options.authenticate;
    this.#maxConnections = options.maxConnections ?? SERVER_DEFAULTS.maxConnections;
    this.#retryAfter = String(options.retryAfter ?? SERVER_DEFAULTS.retryAfter);
    this.handshakeTimeout = options.handshakeTimeout ?? SERVER_DEFAULTS.handshakeTimeout;
    this.maxHeaderCount = options.maxHeaderCount ?? SERVER_DEFAULTS.maxHeaderCount;
    this.maxHeaderBytes = options.maxHeaderBytes ?? SERVER_DEFAULTS.maxHeaderBytes;
    this.#waiting = this.handshakeTimeout > 0 ? new DeadlineQueue(this.handshakeTimeout, this.#expire) : null;
  }

  /** The request comes from an origin that the `origins` rule explicitly allows (CORS). */
  originAllowed(req: IncomingMessage): boolean {
    const check = this.#originCheck;
    if (check === undefined || req.headers.origin === undefined) return false;
    try {
      return check(req.headers.origin, req) === true;
    } catch {
      return false;
    }
  }

  /** {@link admit} for a request node has parsed: its header caps first, unless closing (the 503 comes first). */
  admitParsed(admission: Admission, cb: ((conn: AnyConnection) => void) | undefined): void {
    if (!this.#host.closing && !this.withinCaps(admission)) return;
    this.admit(admission, cb);
  }

  /** Header caps (node has parsed already; its own limits may be larger). Refuses and returns false beyond. */
  withinCaps(admission: Admission): boolean {
    const req = admission.req;
    const raw = req.rawHeaders;
    if (this.maxHeaderCount > 0 && raw.length / 2 > this.maxHeaderCount) {
      this.#refuse(admission, new HandshakeError("HEADERS_TOO_LARGE", "Too many header fields"));
      return false;
    }
    if (this.maxHeaderBytes > 0) {
      let size = (req.url?.length ?? 0) + 16;
      for (let i = 0; i < raw.length; i++) size += raw[i]!.length + 2;
      if (size > this.maxHeaderBytes) {
        this.#refuse(admission, new HandshakeError("HEADERS_TOO_LARGE", "Request header fields too large"));
        return false;
      }
    }
    return true;
  }

  /** Run the checks, then accept (see the module comment). */
  admit(admission: Admission, cb: ((conn: AnyConnection) => void) | undefined): void {
    const req = admission.req;
    if (this.#host.closing) {
      this.#refuse(admission, new HandshakeError("SERVER_UNAVAILABLE", "Server is closing"));
      return;
    }
    if (this.#path !== undefined && pathOf(req.url) !== this.#path) {
      this.#refuse(admission, new HandshakeError("BAD_REQUEST", "No WebSocket endpoint at this path"));
      return;
    }
    if (this.#originCheck !== undefined) {
      let allowed = false;
      try {
        allowed = this.#originCheck(requestOrigin(req), req) === true;
      } catch (error) {
        this.#host.error(asError(error));
      }
      if (!allowed) {
        this.#refuse(admission, new HandshakeError("ORIGIN_FORBIDDEN", "Origin not allowed"));
        return;
      }
    }
    if (this.#maxConnections > 0 && this.#host.open + this.#pending >= this.#maxConnections) {
      const headers = { "Retry-After": this.#retryAfter };
      this.#refuse(admission, new HandshakeError("SERVER_UNAVAILABLE", "Server is full", { headers }));
      return;
    }
    const authenticate = this.#authenticate;
    // Without authenticate nothing waits before the answer: no pending entry, no timer.
    if (authenticate === undefined) {
      this.#accept(admission, null, undefined, cb); // conn.data stays undefined: nothing authenticated
      return;
    }
    this.#pending++;
    const pending = new PendingAdmission(admission);
    this.#waiting?.add(pending);
    let result: unknown;
    try {
      result = authenticate(req);
    } catch (error) {
      this.#authFailed(pending, error);
      return;
    }
    if (result instanceof Rejection) {
      this.#authFailed(pending, result);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (data) =>
          data instanceof Rejection ? this.#authFailed(pending, data) : this.#accept(admission, pending, data, cb),
        (error) => this.#authFailed(pending, error),
      );
    } else {
      this.#accept(admission, pending, result, cb);
    }
  }

  /** A handshake timed out (the queue's expiry, for every PendingAdmission of these checks). */
  readonly #expire = (pending: PendingAdmission): void => {
    if (pending.done) return;
    pending.done = true;
    this.#pending--;
    this.#refuse(pending.admission, new HandshakeError("HANDSHAKE_TIMEOUT", "Handshake timeout"));
  };

  #settle(pending: PendingAdmission | null): boolean {
    if (pending === null) return true;
    if (pending.done) return false;
    pending.done = true;
    this.#pending--;
    this.#waiting?.remove(pending);
    return true;
  }

  #authFailed(pending: PendingAdmission, error: unknown): void {
    if (!this.#settle(pending)) return;
    const admission = pending.admission;
    if (error instanceof Rejection) {
      const refusal = new HandshakeError("REJECTED", "Rejected by authenticate", {
        status: error.status,
        headers: error.headers,
      });
      this.#refuse(admission, refusal, error.body);
      return;
    }
    if (error instanceof HandshakeError) {
      this.#refuse(admission, error, error.message);
      return;
    }
    this.#host.error(asError(error));
    this.#refuse(admission, new HandshakeError("CALLBACK_FAILED", "authenticate failed", { cause: error }));
  }

  #accept(
    admission: Admission,
    pending: PendingAdmission | null,
    data: unknown,
    cb: ((conn: AnyConnection) => void) | undefined,
  ): void {
    if (!this.#settle(pending)) return;
    if (admission.gone) return;
    if (this.#host.closing) {
      this.#refuse(admission, new HandshakeError("SERVER_UNAVAILABLE", "Server is closing"));
      return;
    }
    let conn: AnyConnection | null;
    try {
      conn = admission.accept(data);
    } catch (error) {
      this.#host.error(asError(error));
      return;
    }
    if (conn === null) return;
    const req = admission.req;
    // draft-76 opens once its 8-byte key arrived: hand the connection out then.
    if (conn.readyState === 0) conn.once("open", () => this.#host.adopt(conn, req, cb));
    else this.#host.adopt(conn, req, cb);
  }

  #refuse(admission: Admission, error: HandshakeError, body?: string | Uint8Array): void {
    this.#host.rejected(admission.req, error);
    admission.refuse(error, body || error.message);
  }
}
