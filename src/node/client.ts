/**
 * The Node client: `connect(url, options)` opens a raw net/tls socket (directly, through an
 * HTTP CONNECT proxy, or over a Unix socket for `ws+unix:`), writes the request bytes of the
 * sans-I/O {@link ClientHandshake}, feeds it the answer, and resolves with an open
 * {@link Connection} (client role). It rejects with:
 * - a {@link HandshakeError} carrying `response` (status, headers, start of body) when the
 *   server or the proxy refuses (or a redirect is not followed);
 * - the socket's error for network and TLS failures (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT...);
 * - a HandshakeError(408) when `handshakeTimeout` expires; an OptionError for bad options.
 *
 * Redirects are opt-in (`followRedirects: true` = up to 10, or a number): on a cross-origin hop
 * the Authorization and Cookie headers are stripped (as browsers and ws do).
 * `proxy: true` reads HTTPS_PROXY (wss) / HTTP_PROXY (ws) and honours NO_PROXY.
 */
import { connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions as ConnectionOptionsTls, type TLSSocket, connect as tlsConnect } from "node:tls";
import { HandshakeError, OptionError } from "../protocol/errors.js";
import type { ClientExtension } from "../protocol/extensions/extension.js";
import { ClientHandshake } from "../protocol/handshake/client-handshake.js";
import { connectRequest, ProxyResponse } from "../protocol/handshake/proxy.js";
import { Connection } from "./connection.js";
import type { PerMessageDeflateOptions } from "./deflate/index.js";
import { createHybiEngine } from "./engines.js";
import { clientDeflate } from "./extensions.js";
import { attemptHttp2 } from "./http2-client.js";
import {
  type BackpressurePolicy,
  type ConnectionOptions,
  checkCount,
  type ImmediatePolicy,
  resolveConnectionOptions,
} from "./options.js";
import { proxyFor } from "./proxy-env.js";
import { type TimerEntry, wheel } from "./timer-wheel.js";

export interface ClientOptions extends ConnectionOptions {
  protocols?: string | string[];
  /** Extra request headers. */
  headers?: Record<string, string>;
  origin?: string;
  /** Time for connect + TLS + proxy + handshake, per redirect hop. Default 10 s; 0 disables. */
  handshakeTimeout?: number;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Passphrase of `key` (an encrypted PEM key). */
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  /** Follow 3xx answers: true (up to 10) or the maximum number of hops. Default false. */
  followRedirects?: boolean | number;
  /** "http://user:pass@host:port", or true to use HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  proxy?: string | true;
  /** Local address to bind. */
  localAddress?: string;
  /** Abort the attempt. */
  signal?: AbortSignal;
  /**
   * Open the WebSocket on a stream of an HTTP/2 connection (RFC 8441) when the server offers it
   * (SETTINGS_ENABLE_CONNECT_PROTOCOL): WebSockets to one origin then share one connection. For
   * wss: URLs the TLS handshake offers h2 and http/1.1; for ws: URLs HTTP/2 is tried with prior
   * knowledge (h2c). Without the server's offer, HTTP/1.1 as usual. Default false. Not with `proxy`.
   */
  http2?: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

export interface Target {
  /** The URL given to the handshake (ws:// or wss://; for ws+unix a ws://localhost URL). */
  handshakeUrl: URL;
  secure: boolean;
  host: string;
  port: number;
  socketPath?: string;
}

function parseTarget(input: string | URL): Target {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new SyntaxError(`Invalid WebSocket URL: ${String(input)}`);
  }
  if (url.hash) url.hash = ""; // WHATWG: fragments are not allowed; ignore rather than fail
  switch (url.protocol) {
    case "ws:":
    case "http:":
    case "wss:":
    case "https:": {
      const secure = url.protocol === "wss:" || url.protocol === "https:";
      const handshakeUrl = new URL(url.href);
      handshakeUrl.protocol = secure ? "wss:" : "ws:";
      const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
      return { handshakeUrl, secure, host, port: Number(url.port) || (secure ? 443 : 80) };
    }
    case "ws+unix:":
    case "wss+unix:": {
      // ws+unix:///path/to/socket:/request/path (ws's format)
      const full = decodeURIComponent(url.pathname);
      const colon = full.indexOf(":");
      const socketPath = colon === -1 ? full : full.slice(0, colon);
      const requestPath = colon === -1 ? "/" : full.slice(colon + 1) || "/";
      if (!socketPath) throw new SyntaxError(`Invalid ws+unix URL (no socket path): ${url.href}`);
      const secure = url.protocol === "wss+unix:";
      const handshakeUrl = new URL(`${secure ? "wss" : "ws"}://localhost${requestPath}${url.search}`);
      return { handshakeUrl, secure, host: "localhost", port: 0, socketPath };
    }
    default:
      throw new SyntaxError(`Unsupported WebSocket URL scheme: ${url.protocol}`);
  }
}

function validate(options: ClientOptions): void {
  if (typeof options !== "object" || options === null) throw new OptionError("options", "expected an object");
  checkCount("handshakeTimeout", options.handshakeTimeout);
  const redirects = options.followRedirects;
  if (redirects !== undefined && typeof redirects !== "boolean") checkCount("followRedirects", redirects);
  const proxy = options.proxy;
  if (proxy !== undefined && proxy !== true) {
    if (typeof proxy !== "string") throw new OptionError("proxy", "expected a URL string or true");
    let url: URL;
    try {
      url = new URL(proxy);
    } catch {
      throw new OptionError("proxy", `not a URL: ${proxy}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new OptionError("proxy", "only http:// and https:// proxies are supported");
    }
  }
  const protocols = options.protocols;
  if (protocols !== undefined) {
    const list = typeof protocols === "string" ? [protocols] : protocols;
    if (!Array.isArray(list) || list.some((p) => typeof p !== "string" || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p))) {
      throw new OptionError("protocols", "expected subprotocol tokens");
    }
    if (new Set(list).size !== list.length) throw new OptionError("protocols", "duplicate subprotocol");
  }
  if (options.headers !== undefined && (typeof options.headers !== "object" || options.headers === null)) {
    throw new OptionError("headers", "expected an object of strings");
  }
  const pmd = options.perMessageDeflate;
  if (pmd !== undefined && typeof pmd !== "boolean" && (typeof pmd !== "object" || pmd === null)) {
    throw new OptionError("perMessageDeflate", "expected a boolean or an options object");
  }
  if (options.http2 !== undefined && typeof options.http2 !== "boolean") {
    throw new OptionError("http2", "expected a boolean");
  }
  if (options.http2 === true && options.proxy !== undefined) {
    throw new OptionError(
      "http2",
      "WebSockets over HTTP/2 cannot go through an HTTP CONNECT proxy: drop proxy or http2",
    );
  }
}

/** Open a WebSocket connection; resolves when the opening handshake completes. */
export async function connect<P extends BackpressurePolicy = ImmediatePolicy>(
  url: string | URL,
  options: ClientOptions & { backpressure?: P } = {},
): Promise<Connection<P>> {
  validate(options);
  const connOptions = resolveConnectionOptions(options);
  const maxHops = options.followRedirects === true ? 10 : options.followRedirects || 0;
  let current = parseTarget(url);
  let headers = { ...(options.headers ?? {}) };
  for (let hop = 0; ; hop++) {
    let outcome: Awaited<ReturnType<typeof attempt>>;
    if (options.http2 === true) {
      const h2 = await http2Hop(current, headers, options, connOptions);
      // Made with connOptions, so under the `backpressure` policy P stands for.
      if (h2.kind === "open") return h2.conn as Connection<P>;
      outcome = h2.kind === "redirect" ? h2.error : await attempt(current, headers, options, h2.socket);
    } else {
      outcome = await attempt(current, headers, options);
    }
    if (outcome instanceof HandshakeError) {
      const location = outcome.response?.headers.find(([name]) => name.toLowerCase() === "location")?.[1];
      if (location === undefined || !REDIRECTS.has(outcome.status) || maxHops === 0) throw outcome;
      if (hop >= maxHops)
        throw new HandshakeError("TOO_MANY_REDIRECTS", `Too many redirects (max ${maxHops})`, {
          status: outcome.status,
          response: outcome.response,
        });
      const base = new URL(current.handshakeUrl.href);
      base.protocol = current.secure ? "https:" : "http:";
      const next = parseTarget(new URL(location, base));
      if (next.handshakeUrl.origin !== current.handshakeUrl.origin || current.socketPath !== undefined) {
        headers = Object.fromEntries(
          Object.entries(headers).filter(([name]) => !/^(authorization|cookie)$/i.test(name)),
        );
      }
      current = next;
      continue;
    }
    const { socket, result } = outcome;
    return new Connection<P>({
      role: "client",
      socket,
      createEngine: createHybiEngine,
      options: connOptions,
      protocol: result.protocol,
      extensions: result.extensions,
      extensionsHeader: result.extensionsHeader,
      head: result.remainder,
      url: current.handshakeUrl.href,
    });
  }
}

/** One RFC 8441 hop (see http2-client.ts), bounded by handshakeTimeout and the caller's signal. */
async function http2Hop(
  target: Target,
  headers: Record<string, string>,
  options: ClientOptions,
  connection: ReturnType<typeof resolveConnectionOptions>,
): ReturnType<typeof attemptHttp2> {
  const controller = new AbortController();
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const deadline = new Deadline(() =>
    controller.abort(new HandshakeError("HANDSHAKE_TIMEOUT", `Opening handshake timed out after ${timeout} ms`)),
  );
  if (timeout > 0) wheel.scheduleIn(deadline, timeout);
  const signal = options.signal;
  const onAbort = (): void => controller.abort(signal?.reason ?? new Error("aborted"));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort);
  try {
    return await attemptHttp2(
      target,
      {
        origin: options.origin,
        protocols: options.protocols === undefined ? undefined : [options.protocols].flat(),
        extensions: options.perMessageDeflate ? [clientDeflate(options.perMessageDeflate)] : [],
        headers,
        connection,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: options.rejectUnauthorized,
        servername: options.servername,
        localAddress: options.localAddress,
      },
      controller.signal,
    );
  } catch (error) {
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    wheel.cancel(deadline);
    signal?.removeEventListener("abort", onAbort);
  }
}

type HandshakeOk = Extract<NonNullable<ReturnType<ClientHandshake["receive"]>>, { ok: true }>;

class Deadline implements TimerEntry {
  deadline = -1;
  slot = -1;
  wheelNext: TimerEntry | null = null;
  wheelPrev: TimerEntry | null = null;
  constructor(readonly fire: () => void) {}
  onTimer(): void {
    this.fire();
  }
}

/** One hop: socket, optional proxy tunnel, optional TLS, handshake. */
function attempt(
  target: Target,
  headers: Record<string, string>,
  options: ClientOptions,
  preconnected?: TLSSocket,
): Promise<{ socket: Socket; result: HandshakeOk } | HandshakeError> {
  return new Promise((resolve, reject) => {
    let socket: Socket;
    let settled = false;
    const extensions: ClientExtension[] = [];
    const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const deadline = new Deadline(() =>
      fail(new HandshakeError("HANDSHAKE_TIMEOUT", `Opening handshake timed out after ${timeout} ms`)),
    );
    const onAbort = (): void => fail(options.signal?.reason ?? new Error("aborted"));
    const cleanup = (): void => {
      wheel.cancel(deadline);
      options.signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      cleanup();
      socket?.destroy();
      reject(error);
    };
    if (options.signal?.aborted) return reject(options.signal.reason ?? new Error("aborted"));
    options.signal?.addEventListener("abort", onAbort);
    if (timeout > 0) wheel.scheduleIn(deadline, timeout);

    let handshake: ClientHandshake;
    try {
      if (options.perMessageDeflate) {
        extensions.push(clientDeflate(options.perMessageDeflate));
      }
      const protocols = options.protocols === undefined ? undefined : [options.protocols].flat();
      handshake = new ClientHandshake({
        url: target.handshakeUrl,
        origin: options.origin,
        protocols,
        extensions,
        headers,
      });
    } catch (error) {
      cleanup();
      settled = true;
      return reject(error);
    }

    let tunnel: ProxyResponse | undefined;
    let handshaking = false;
    const startHandshake = (sock: Socket): void => {
      socket = sock;
      handshaking = true;
      sock.on("data", onHandshakeData);
      sock.write(handshake.request());
    };
    const onHandshakeData = (chunk: Buffer): void => {
      if (settled) return;
      const result = handshake.receive(chunk);
      if (result !== null) settleHandshake(result);
    };
    const settleHandshake = (result: NonNullable<ReturnType<ClientHandshake["receive"]>>): void => {
      socket.off("data", onHandshakeData);
      socket.off("error", fail);
      socket.off("close", onEarlyClose);
      settled = true;
      cleanup();
      if (result.ok) {
        resolve({ socket, result });
      } else {
        socket.destroy();
        if (REDIRECTS.has(result.error.status)) resolve(result.error);
        else reject(result.error);
      }
    };
    // The peer closed first: the readers give their final answer (a refusal without
    // Content-Length ends at EOF), else a 502.
    const onEarlyClose = (): void => {
      if (settled) return;
      if (handshaking) settleHandshake(handshake.finish());
      else if (tunnel !== undefined) {
        const answer = tunnel.finish();
        fail(answer.ok ? new HandshakeError("BAD_RESPONSE", "The proxy closed the tunnel") : answer.error);
      } else fail(new HandshakeError("BAD_RESPONSE", "Connection closed before the opening handshake completed"));
    };

    const tlsOptions = {
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      passphrase: options.passphrase,
      rejectUnauthorized: options.rejectUnauthorized,
      servername: options.servername ?? (isIp(target.host) ? undefined : target.host),
      ALPNProtocols: ["http/1.1"],
    };
    const upgradeTls = (raw: Socket | undefined): void => {
      const where: ConnectionOptionsTls = raw
        ? { socket: raw }
        : target.socketPath
          ? { path: target.socketPath }
          : { host: target.host, port: target.port };
      const secure = tlsConnect({ ...tlsOptions, ...where });
      socket = secure;
      secure.on("error", fail);
      secure.on("close", onEarlyClose);
      secure.once("secureConnect", () => startHandshake(secure));
    };

    if (preconnected !== undefined) {
      // A TLS socket whose ALPN settled on http/1.1 (an http2 attempt's): the handshake goes on it.
      socket = preconnected;
      preconnected.on("error", fail);
      preconnected.on("close", onEarlyClose);
      startHandshake(preconnected);
      return;
    }
    let proxy: URL | undefined;
    try {
      proxy = proxyFor(target, options.proxy);
    } catch (error) {
      fail(new OptionError("proxy", String(error)));
      return;
    }
    if (proxy !== undefined) {
      const proxyPort = Number(proxy.port) || (proxy.protocol === "https:" ? 443 : 80);
      const raw: Socket =
        proxy.protocol === "https:"
          ? tlsConnect({ host: proxy.hostname, port: proxyPort, servername: proxy.hostname, ca: options.ca })
          : netConnect({ host: proxy.hostname, port: proxyPort, localAddress: options.localAddress });
      socket = raw;
      raw.on("error", fail);
      raw.on("close", onEarlyClose);
      const reader = new ProxyResponse();
      tunnel = reader;
      const onProxyData = (chunk: Buffer): void => {
        if (settled) return;
        const answer = reader.receive(chunk);
        if (answer === null) return;
        raw.off("data", onProxyData);
        if (!answer.ok) {
          fail(answer.error);
          return;
        }
        tunnel = undefined;
        if (answer.remainder.byteLength > 0) raw.unshift(Buffer.from(answer.remainder));
        if (target.secure) {
          raw.off("error", fail);
          raw.off("close", onEarlyClose);
          upgradeTls(raw);
        } else {
          startHandshake(raw);
        }
      };
      raw.on("data", onProxyData);
      raw.once(proxy.protocol === "https:" ? "secureConnect" : "connect", () => {
        raw.write(connectRequest({ host: target.host, port: target.port }, proxy));
      });
    } else if (target.secure) {
      upgradeTls(undefined);
    } else {
      const raw = target.socketPath
        ? netConnect({ path: target.socketPath })
        : netConnect({ host: target.host, port: target.port, localAddress: options.localAddress });
      socket = raw;
      raw.on("error", fail);
      raw.on("close", onEarlyClose);
      raw.once("connect", () => startHandshake(raw));
    }
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}
