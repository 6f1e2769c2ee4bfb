/**
 * The client side of `wirecable/ws`: ws's `initAsClient`. The opening handshake goes through
 * node:http (`http.request` / `https.request`), as in ws, so that ws's client options and events
 * that are node:http's concepts work unchanged: `agent`, `createConnection`, `finishRequest`,
 * `handshakeTimeout`, the `upgrade`, `unexpected-response` and `redirect` events,
 * `followRedirects`/`maxRedirects`, `auth` from the URL, `ws+unix:` URLs. The answer is checked
 * with ws's rules and messages; the socket then goes to a wirecable Connection. A handshake that
 * fails or is cancelled (`close()`/`terminate()` while CONNECTING) ends in {@link abortHandshake}.
 */
import { createHash, randomBytes } from "node:crypto";
import http, { type ClientRequest, type IncomingMessage } from "node:http";
import https from "node:https";
import net, { type Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { clientDeflate } from "../node/extensions.js";
import type { ExtensionSession } from "../protocol/extensions/extension.js";
import { parseExtensions, renderExtensions } from "../protocol/extensions/extension-header.js";
import { WEBSOCKET_GUID } from "../protocol/handshake/server-handshake.js";
import { toDeflateOptions, type WsPerMessageDeflateOptions } from "./deflate-options.js";
import { CLOSE_TIMEOUT, settingsFrom, type UnhandledErrors } from "./socket-settings.js";
import { kInternal, type WebSocket } from "./websocket.js";

export interface WsClientOptions extends Omit<http.RequestOptions, "protocol" | "timeout"> {
  protocols?: string | string[];
  allowSynchronousEvents?: boolean;
  autoPong?: boolean;
  closeTimeout?: number;
  finishRequest?: (request: ClientRequest, websocket: WebSocket) => void;
  followRedirects?: boolean;
  handshakeTimeout?: number;
  maxPayload?: number;
  maxRedirects?: number;
  origin?: string;
  perMessageDeflate?: boolean | WsPerMessageDeflateOptions;
  protocolVersion?: number;
  skipUTF8Validation?: boolean;
  /** Fill each frame's 4-byte masking key (default: random, from a pool). */
  generateMask?: (mask: Buffer) => void;
  /** wirecable: "ignore" makes an unheard `error` harmless (ws: it crashes the process). */
  unhandledErrors?: UnhandledErrors;
  // TLS options pass through to https.request.
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
  [option: string]: unknown;
}

/** Marks a request whose handshake {@link abortHandshake} has given up (its late events are ignored). */
const kAborted = Symbol("kAborted");

const SUBPROTOCOL = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;
const PROTOCOL_VERSIONS = [8, 13];

/** ws's tail of the URL checks; the socket path of ws+unix URLs. */
export function initAsClient(
  websocket: WebSocket,
  address: string | URL,
  protocols: string[],
  options: WsClientOptions | undefined,
): void {
  const internal = websocket[kInternal];
  const opts: Record<string, unknown> & WsClientOptions = {
    allowSynchronousEvents: true,
    autoPong: true,
    closeTimeout: CLOSE_TIMEOUT,
    protocolVersion: 13,
    maxPayload: 100 * 1024 * 1024,
    skipUTF8Validation: false,
    perMessageDeflate: true,
    followRedirects: false,
    maxRedirects: 10,
    ...options,
    socketPath: undefined,
    hostname: undefined,
    protocol: undefined,
    protocols: undefined,
    timeout: undefined,
    method: "GET",
    host: undefined,
    path: undefined,
    port: undefined,
  };
  internal.settings = settingsFrom(opts);
  if (!PROTOCOL_VERSIONS.includes(opts.protocolVersion as number)) {
    throw new RangeError(
      `Unsupported protocol version: ${opts.protocolVersion} (supported versions: ${PROTOCOL_VERSIONS.join(", ")})`,
    );
  }
  let parsedUrl: URL;
  if (address instanceof URL) parsedUrl = address;
  else {
    try {
      parsedUrl = new URL(address);
    } catch {
      throw new SyntaxError(`Invalid URL: ${address}`);
    }
  }
  if (parsedUrl.protocol === "http:" || parsedUrl.protocol === "https:") {
    parsedUrl = new URL(parsedUrl);
    parsedUrl.protocol = parsedUrl.protocol === "http:" ? "ws:" : "wss:";
  }
  internal.setUrl(parsedUrl.href);
  const isSecure = parsedUrl.protocol === "wss:";
  const isIpcUrl = parsedUrl.protocol === "ws+unix:";
  let invalidUrlMessage: string | undefined;
  if (parsedUrl.protocol !== "ws:" && !isSecure && !isIpcUrl) {
    invalidUrlMessage = 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';
  } else if (isIpcUrl && !parsedUrl.pathname) {
    invalidUrlMessage = "The URL's pathname is empty";
  } else if (parsedUrl.hash) {
    invalidUrlMessage = "The URL contains a fragment identifier";
  }
  if (invalidUrlMessage !== undefined) {
    const err = new SyntaxError(invalidUrlMessage);
    if (internal.redirects === 0) throw err;
    internal.emitErrorAndClose(err);
    return;
  }

  const defaultPort = isSecure ? 443 : 80;
  const key = randomBytes(16).toString("base64");
  const request = isSecure ? https.request : http.request;
  const protocolSet = new Set<string>();
  let deflate: ReturnType<typeof clientDeflate> | undefined;

  opts.createConnection ??= (isSecure ? tlsConnect : netConnect) as unknown as http.RequestOptions["createConnection"];
  opts.defaultPort ??= defaultPort;
  opts.port = parsedUrl.port || defaultPort;
  opts.host = parsedUrl.hostname.startsWith("[") ? parsedUrl.hostname.slice(1, -1) : parsedUrl.hostname;
  const headers: Record<string, string | number | string[]> = {
    ...(opts.headers as Record<string, string>),
    "Sec-WebSocket-Version": opts.protocolVersion as number,
    "Sec-WebSocket-Key": key,
    Connection: "Upgrade",
    Upgrade: "websocket",
  };
  opts.headers = headers;
  opts.path = parsedUrl.pathname + parsedUrl.search;
  opts.timeout = opts.handshakeTimeout;

  if (opts.perMessageDeflate) {
    deflate = clientDeflate(toDeflateOptions(opts.perMessageDeflate, opts.maxPayload as number));
    headers["Sec-WebSocket-Extensions"] = renderExtensions(
      deflate.offers().map((params) => ({ name: deflate!.name, params })),
    );
  }
  if (protocols.length > 0) {
    for (const protocol of protocols) {
      if (typeof protocol !== "string" || !SUBPROTOCOL.test(protocol) || protocolSet.has(protocol)) {
        throw new SyntaxError("An invalid or duplicated subprotocol was specified");
      }
      protocolSet.add(protocol);
    }
    headers["Sec-WebSocket-Protocol"] = protocols.join(",");
  }
  if (opts.origin) {
    if ((opts.protocolVersion as number) < 13) headers["Sec-WebSocket-Origin"] = opts.origin;
    else headers.Origin = opts.origin;
  }
  if (parsedUrl.username || parsedUrl.password) {
    opts.auth = `${decodeURIComponent(parsedUrl.username)}:${decodeURIComponent(parsedUrl.password)}`;
  }
  if (isIpcUrl) {
    const path = opts.path as string;
    const i = path.indexOf(":");
    if (i === -1) {
      opts.socketPath = path;
      opts.path = "";
    } else {
      opts.socketPath = path.slice(0, i);
      opts.path = path.slice(i + 1);
    }
  }

  let req: ClientRequest | null;
  const state = redirectState.get(websocket) ?? { originalIpc: false, originalSecure: false, originalHost: "" };
  let nextOptions = options ?? {};
  if (opts.followRedirects) {
    if (internal.redirects === 0) {
      state.originalIpc = isIpcUrl;
      state.originalSecure = isSecure;
      state.originalHost = isIpcUrl ? (opts.socketPath as string) : parsedUrl.host;
      redirectState.set(websocket, state);
      const given = options?.headers as Record<string, string> | undefined;
      nextOptions = { ...options, headers: {} };
      if (given) {
        for (const [name, value] of Object.entries(given)) {
          (nextOptions.headers as Record<string, string>)[name.toLowerCase()] = value;
        }
      }
    } else if (websocket.listenerCount("redirect") === 0) {
      const isSameHost = isIpcUrl
        ? state.originalIpc
          ? opts.socketPath === state.originalHost
          : false
        : state.originalIpc
          ? false
          : parsedUrl.host === state.originalHost;
      if (!isSameHost || (state.originalSecure && !isSecure)) {
        delete headers.authorization;
        delete headers.cookie;
        if (!isSameHost) delete headers.host;
        opts.auth = undefined;
      }
    }
    const lowered = nextOptions.headers as Record<string, string>;
    if (opts.auth && !lowered.authorization) {
      lowered.authorization = `Basic ${Buffer.from(opts.auth as string).toString("base64")}`;
    }
    req = internal.req = request(opts as http.RequestOptions);
    if (internal.redirects) websocket.emit("redirect", websocket.url, req);
  } else {
    req = internal.req = request(opts as http.RequestOptions);
  }
  const options2 = nextOptions;

  if (opts.timeout) {
    req.on("timeout", () => abortHandshake(websocket, req, "Opening handshake has timed out"));
  }
  req.on("error", (err) => {
    if (req === null || (req as ClientRequest & { [kAborted]?: boolean })[kAborted]) return;
    req = internal.req = null;
    internal.emitErrorAndClose(err);
  });
  req.on("response", (res: IncomingMessage) => {
    const location = res.headers.location;
    const statusCode = res.statusCode ?? 0;
    if (location && opts.followRedirects && statusCode >= 300 && statusCode < 400) {
      if (++internal.redirects > (opts.maxRedirects as number)) {
        abortHandshake(websocket, req, "Maximum redirects exceeded");
        return;
      }
      req!.destroy();
      let addr: URL;
      try {
        addr = new URL(location, address);
      } catch {
        internal.emitErrorAndClose(new SyntaxError(`Invalid URL: ${location}`));
        return;
      }
      initAsClient(websocket, addr, protocols, options2);
    } else if (!websocket.emit("unexpected-response", req, res)) {
      abortHandshake(websocket, req, `Unexpected server response: ${res.statusCode}`);
    }
  });
  req.on("upgrade", (res: IncomingMessage, socket: Socket, head: Buffer) => {
    websocket.emit("upgrade", res);
    if (websocket.readyState !== 0) return;
    req = internal.req = null;
    const upgrade = res.headers.upgrade;
    if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") {
      abortHandshake(websocket, socket, "Invalid Upgrade header");
      return;
    }
    const digest = createHash("sha1")
      .update(key + WEBSOCKET_GUID)
      .digest("base64");
    if (res.headers["sec-websocket-accept"] !== digest) {
      abortHandshake(websocket, socket, "Invalid Sec-WebSocket-Accept header");
      return;
    }
    const serverProt = res.headers["sec-websocket-protocol"];
    let protError: string | undefined;
    if (serverProt !== undefined) {
      if (protocolSet.size === 0) protError = "Server sent a subprotocol but none was requested";
      else if (!protocolSet.has(serverProt)) protError = "Server sent an invalid subprotocol";
    } else if (protocolSet.size > 0) {
      protError = "Server sent no subprotocol";
    }
    if (protError !== undefined) {
      abortHandshake(websocket, socket, protError);
      return;
    }
    const sessions: ExtensionSession[] = [];
    let names = "";
    const header = res.headers["sec-websocket-extensions"];
    if (header !== undefined) {
      if (deflate === undefined) {
        abortHandshake(
          websocket,
          socket,
          "Server sent a Sec-WebSocket-Extensions header but no extension was requested",
        );
        return;
      }
      const offers = parseExtensions(header);
      if (offers === null) {
        abortHandshake(websocket, socket, "Invalid Sec-WebSocket-Extensions header");
        return;
      }
      if (offers.length !== 1 || offers[0]!.name !== deflate.name) {
        abortHandshake(websocket, socket, "Server indicated an extension that was not requested");
        return;
      }
      try {
        sessions.push(deflate.accept(offers[0]!));
      } catch {
        abortHandshake(websocket, socket, "Invalid Sec-WebSocket-Extensions header");
        return;
      }
      names = deflate.name;
    }
    internal.adopt(socket, head, "client", serverProt ?? "", sessions, names, header ?? "");
  });
  if (typeof opts.finishRequest === "function") opts.finishRequest(req, websocket);
  else req.end();
}

const redirectState = new WeakMap<WebSocket, { originalIpc: boolean; originalSecure: boolean; originalHost: string }>();

function netConnect(options: net.NetConnectOpts & { socketPath?: string }): Socket {
  (options as { path?: string }).path = options.socketPath;
  return net.connect(options);
}

function tlsConnect(options: tls.ConnectionOptions & { path?: string }): Socket {
  options.path = undefined;
  if (!options.servername && options.servername !== "") {
    options.servername = net.isIP(options.host ?? "") ? "" : options.host;
  }
  return tls.connect(options);
}

/** The handshake failed or was cancelled: abort the request and report `message`. */
export function abortHandshake(ws: WebSocket, stream: ClientRequest | Duplex | null, message: string): void {
  const internal = ws[kInternal];
  internal.setReadyState(ws.CLOSING);
  const err = new Error(message);
  Error.captureStackTrace(err, abortHandshake);
  if (stream !== null && "setHeader" in stream) {
    (stream as ClientRequest & { [kAborted]?: boolean })[kAborted] = true;
    stream.destroy();
    if (stream.socket && !stream.socket.destroyed) stream.socket.destroy();
    process.nextTick(() => internal.emitErrorAndClose(err));
  } else if (stream !== null) {
    stream.destroy();
    process.nextTick(() => internal.emitErrorAndClose(err));
  } else {
    process.nextTick(() => internal.emitErrorAndClose(err));
  }
}
