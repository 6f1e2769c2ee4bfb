/**
 * websocket-driver's `driver.proxy(url)`: a stream that writes an HTTP CONNECT request for the
 * driver's origin ('data'), reads the proxy's answer (`write`), and emits 'connect' on 200 or
 * 'error' otherwise, then 'close' and 'end'.
 */
import { Stream } from "node:stream";
import { HttpHeadParser } from "../protocol/handshake/http-head-parser.js";
import { Headers, urlAuthorization } from "./headers.js";

const PORTS: Record<string, number> = { "ws:": 80, "wss:": 443 };

export class ProxyStream extends Stream {
  readable = true;
  writable = true;
  statusCode: number | undefined;
  headers: Record<string, string> | undefined;
  #paused = false;
  #state = 0;
  readonly #origin: URL;
  readonly #headers = new Headers();
  readonly #http = new HttpHeadParser("response");

  constructor(clientUrl: string, proxyUrl: string, _options?: unknown) {
    super();
    this.#origin = new URL(clientUrl);
    let proxy: URL | null;
    try {
      proxy = new URL(proxyUrl);
    } catch {
      proxy = null;
    }
    this.#headers.set("Host", this.#origin.host);
    this.#headers.set("Connection", "keep-alive");
    this.#headers.set("Proxy-Connection", "keep-alive");
    const auth = urlAuthorization(proxy);
    if (auth) this.#headers.set("Proxy-Authorization", auth);
  }

  setHeader(name: string, value: unknown): boolean {
    if (this.#state !== 0) return false;
    this.#headers.set(name, value);
    return true;
  }

  start(): boolean {
    if (this.#state !== 0) return false;
    this.#state = 1;
    const origin = this.#origin;
    const port = origin.port || PORTS[origin.protocol];
    const head = [`CONNECT ${origin.hostname}:${port} HTTP/1.1`, this.#headers.toString(), ""].join("\r\n");
    this.emit("data", Buffer.from(head, "utf8"));
    return true;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.emit("drain");
  }

  write(chunk: Uint8Array): boolean {
    if (!this.writable) return false;
    const head = this.#http.push(Buffer.from(chunk));
    if (head === null) return !this.#paused;
    if (!(head instanceof Error)) {
      this.statusCode = head.status;
      this.headers = Object.fromEntries(head.headers);
    }
    if (this.statusCode === 200) this.emit("connect", {});
    else this.emit("error", new Error(`Can't establish a connection to the server at ${this.#origin.href}`));
    this.end();
    return !this.#paused;
  }

  end(chunk?: Uint8Array): void {
    if (!this.writable) return;
    if (chunk !== undefined) this.write(chunk);
    this.readable = this.writable = false;
    this.emit("close");
    this.emit("end");
  }

  destroy(): void {
    this.end();
  }
}
