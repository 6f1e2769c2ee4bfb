/**
 * `wirecable connect URL` (or `-c URL`): an interactive client, like wscat, with wscat's flags
 * (-c, -s, -H, --auth, -n, --ca/--cert/--key/--passphrase, -P, -x, -w, -o, -L, --proxy). Each
 * line read from stdin is sent as a text message; incoming messages are printed on stdout
 * (`< text`, binary as `< [binary N bytes] hex`), notices on stderr (`* ...`). Pongs are
 * printed; pings received only with -P (`--show-ping-pong`).
 *
 * `--http2` opens the WebSocket over HTTP/2 (RFC 8441) when the server offers it.
 *
 * Commands (a line starting with "/"; "//" sends a literal "/"):
 *   /ping [data]            send a ping (the pong is printed)
 *   /close [code] [reason]  start the closing handshake (default 1000)
 *   /quit                   close with 1000 and exit
 *   /help                   list the commands
 * End of input (Ctrl-D, or the end of a pipe) and Ctrl-C close with 1000 (a second Ctrl-C exits
 * at once). Exit status: 0 after a clean
 * close, 1 when the connection could not be opened or was lost (1006).
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { type Command, InvalidArgumentError } from "commander";
import { type ClientOptions, type Connection, connect } from "../node/index.js";
import { parseWsUrl } from "./options.js";

export interface ConnectOptions {
  subprotocol: string[];
  header: Record<string, string>;
  origin?: string;
  proxy?: string;
  insecure: boolean;
  deflate: boolean;
  /** Over HTTP/2 (RFC 8441) when the server offers it, else HTTP/1.1. */
  http2: boolean;
  execute: string[];
  wait: number;
  timeout: number;
  /** wscat's -c: the URL as an option (instead of the argument). */
  connect?: string;
  /** "user:password" for an Authorization: Basic header. */
  auth?: string;
  /** false with -n/--no-check (wscat's spelling of --insecure). */
  check?: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
  /** -P: also print pings received. */
  showPingPong?: boolean;
  /** -L: follow redirects (up to --max-redirects). */
  location?: boolean;
  maxRedirects?: number;
}

export interface ConnectIO {
  input: Readable;
  output: Writable;
  error: Writable;
  /** Aborting it closes the connection with 1000 (the CLI aborts on Ctrl-C). */
  signal?: AbortSignal;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseHeader(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = value.indexOf(":");
  const name = colon === -1 ? "" : value.slice(0, colon).trim();
  const headerValue = colon === -1 ? "" : value.slice(colon + 1).trim();
  if (!TOKEN.test(name) || /[\r\n\0]/.test(headerValue)) {
    throw new InvalidArgumentError(`expected "Name: value", got "${value}"`);
  }
  return { ...previous, [name]: headerValue };
}

export function parseSubprotocol(value: string, previous: string[] = []): string[] {
  if (!TOKEN.test(value)) throw new InvalidArgumentError(`not a valid subprotocol token: "${value}"`);
  return [...previous, value];
}

export function parseProxy(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected an http:// or https:// proxy URL, got "${value}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError(`expected an http:// or https:// proxy URL, got "${value}"`);
  }
  return value;
}

function parseOriginValue(value: string): string {
  try {
    const url = new URL(value);
    if (url.origin === "null") throw new Error();
    return url.origin;
  } catch {
    throw new InvalidArgumentError(`expected an origin such as https://example.com, got "${value}"`);
  }
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 86_400) {
    throw new InvalidArgumentError(`expected seconds (0-86400), got "${value}"`);
  }
  return n;
}

export function parseAuth(value: string): string {
  if (!value.includes(":") || /[\r\n\0]/.test(value))
    throw new InvalidArgumentError(`expected "user:password", got "${value}"`);
  return value;
}

/** A PEM file (--ca, --cert, --key), read when the option is parsed. */
function readPem(value: string): Buffer {
  try {
    return readFileSync(value);
  } catch (error) {
    throw new InvalidArgumentError(`cannot read "${value}": ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

function parseRedirects(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 100) throw new InvalidArgumentError(`expected 0-100 redirects, got "${value}"`);
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Close codes an application may send (RFC 6455 7.4.1/7.4.2: not 1004-1006 nor 1015). */
function validCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  );
}

function describeBinary(data: Buffer): string {
  const shown = data
    .subarray(0, 64)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1 ");
  return `[binary ${data.length} bytes] ${shown}${data.length > 64 ? " …" : ""}`;
}

/** Run the client until the connection closes; resolves to the exit status. */
export async function runConnect(url: string, opts: ConnectOptions, io: ConnectIO): Promise<number> {
  const out = (line: string): void => void io.output.write(`${line}\n`);
  const note = (line: string): void => void io.error.write(`* ${line}\n`);
  const headers = { ...opts.header };
  if (opts.auth !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "authorization")) {
    headers.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
  }
  const options = {
    headers,
    perMessageDeflate: opts.deflate,
    handshakeTimeout: Math.round(opts.timeout * 1000),
    maxPayload: 0,
    ...(opts.subprotocol.length > 0 ? { protocols: opts.subprotocol } : {}),
    ...(opts.origin ? { origin: opts.origin } : {}),
    ...(opts.proxy ? { proxy: opts.proxy } : {}),
    ...(opts.insecure || opts.check === false ? { rejectUnauthorized: false } : {}),
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.cert ? { cert: opts.cert } : {}),
    ...(opts.key ? { key: opts.key } : {}),
    ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
    ...(opts.location ? { followRedirects: opts.maxRedirects ?? 10 } : {}),
    ...(opts.http2 ? { http2: true } : {}),
  } satisfies ClientOptions;
  let conn: Connection;
  try {
    conn = await connect(url, options);
  } catch (err) {
    io.error.write(`wirecable: could not connect to ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const overHttp2 = (conn.socket as { session?: unknown }).session !== undefined;
  const details = [
    overHttp2 && "over HTTP/2",
    conn.protocol && `subprotocol ${conn.protocol}`,
    conn.extensions && `extensions ${conn.extensions}`,
  ];
  note(`connected to ${url}${details.some(Boolean) ? ` (${details.filter(Boolean).join(", ")})` : ""}`);
  if (opts.execute.length === 0) note("type a message and press Enter; /help lists the commands");

  const finished = new Promise<number>((resolve) => {
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      out(`< ${isBinary ? describeBinary(Buffer.from(data as Buffer)) : String(data)}`);
    });
    if (opts.showPingPong) conn.on("ping", (data) => out(`< ping${data.length ? `: ${data.toString()}` : ""}`));
    conn.on("pong", (data: Buffer) => out(`< pong${data.length ? `: ${data.toString()}` : ""}`));
    conn.on("error", (err: Error) => note(`error: ${err.message}`));
    conn.on("close", (code: number, reason: string | Buffer) => {
      const text = String(reason ?? "");
      note(`closed: ${code}${text ? ` ${text}` : ""}`);
      resolve(code === 1006 ? 1 : 0);
    });
  });

  const send = (text: string): void => {
    if (conn.readyState !== 1) {
      note("not open: message not sent");
      return;
    }
    conn.send(text);
  };
  let closeTimer: NodeJS.Timeout | undefined;
  const close = (code = 1000, reason = ""): void => {
    if (conn.readyState !== 1) return;
    conn.close(code, reason);
    // The peer has closeTimeout to answer; do not wait forever on one that never does.
    closeTimer ??= setTimeout(() => conn.terminate(), 5000);
  };

  const command = (line: string): void => {
    const [name = "", ...rest] = line.slice(1).split(" ");
    switch (name) {
      case "ping":
        if (conn.readyState === 1) conn.ping(rest.join(" "));
        return;
      case "close": {
        const code = rest[0] === undefined || rest[0] === "" ? 1000 : Number(rest[0]);
        if (!validCloseCode(code)) {
          note(`invalid close code "${rest[0]}": use 1000-1003, 1007-1014 or 3000-4999`);
          return;
        }
        const reason = rest.slice(1).join(" ");
        if (Buffer.byteLength(reason) > 123) {
          note("close reason too long (at most 123 bytes)");
          return;
        }
        close(code, reason);
        return;
      }
      case "quit":
        close(1000, "");
        return;
      case "help":
        note("/ping [data]  /close [code] [reason]  /quit  (//text sends /text)");
        return;
      default:
        note(`unknown command "/${name}": /help lists the commands`);
    }
  };

  io.signal?.addEventListener("abort", () => close(1000, ""), { once: true });

  let rl: ReturnType<typeof createInterface> | undefined;
  if (opts.execute.length > 0) {
    for (const message of opts.execute) send(message);
    const waitTimer = setTimeout(() => close(1000, ""), opts.wait * 1000);
    void finished.then(() => clearTimeout(waitTimer));
  } else {
    rl = createInterface({ input: io.input, terminal: false });
    rl.on("line", (line) => {
      if (line.startsWith("//")) send(line.slice(1));
      else if (line.startsWith("/")) command(line);
      else send(line);
    });
    rl.on("close", () => close(1000, ""));
  }
  const status = await finished;
  clearTimeout(closeTimer);
  rl?.removeAllListeners("close");
  rl?.close();
  return status;
}

export function registerConnect(program: Command): void {
  program
    .command("connect")
    .description("interactive WebSocket client: send lines from stdin, print what arrives (wscat's flags)")
    .argument("[url]", "ws:// or wss:// URL (or -c <url>)", parseWsUrl)
    .option("-c, --connect <url>", "the URL to connect to, as wscat takes it", parseWsUrl)
    .option("-s, --subprotocol <protocol>", "offer this subprotocol (repeatable)", parseSubprotocol, [])
    .option("-H, --header <header>", 'extra request header, "Name: value" (repeatable)', parseHeader, {})
    .option("--auth <user:password>", "send Authorization: Basic with these credentials", parseAuth)
    .option("-o, --origin <origin>", "send this Origin header", parseOriginValue)
    .option("--proxy <url>", "connect through this HTTP CONNECT proxy (http://user:pass@host:port)", parseProxy)
    .option("-n, --no-check", "do not verify the server's TLS certificate (also -k, --insecure)")
    .option("-k, --insecure", "do not verify the server's TLS certificate", false)
    .option("--ca <file>", "trust this certificate authority (PEM)", readPem)
    .option("--cert <file>", "client certificate (PEM)", readPem)
    .option("--key <file>", "client certificate's key (PEM)", readPem)
    .option("--passphrase <passphrase>", "the key's passphrase")
    .option("-L, --location", "follow redirects", false)
    .option("--max-redirects <n>", "with -L: most redirects followed", parseRedirects, 10)
    .option("-P, --show-ping-pong", "also print pings received (pongs are always printed)", false)
    .option("--deflate", "offer permessage-deflate", false)
    .option("--http2", "open the WebSocket over HTTP/2 (RFC 8441) if the server offers it, else HTTP/1.1", false)
    .option("-x, --execute <message>", "send this message after connecting, then close (repeatable)", collect, [])
    .option("-w, --wait <seconds>", "with --execute: seconds to wait for replies before closing", parseSeconds, 1)
    .option("-t, --timeout <seconds>", "handshake timeout", parseSeconds, 10)
    .addHelpText(
      "after",
      "\nCommands: /ping [data], /close [code] [reason], /quit, /help; //text sends /text.\nExamples:\n  wirecable connect ws://localhost:8080\n  wirecable connect -c wss://example.com/cable -s actioncable-v1-json -H 'Authorization: Bearer x'\n  wirecable connect ws://localhost:8080 -x hello -w 2\n",
    )
    .action(async (argument: string | undefined, opts: ConnectOptions, command: Command) => {
      if (argument !== undefined && opts.connect !== undefined && argument !== opts.connect) {
        command.error("error: give the URL once: as the argument or with -c, --connect");
      }
      const url = argument ?? opts.connect;
      if (url === undefined) command.error("error: missing the URL: wirecable connect <url>, or -c <url>");
      // Ctrl-C closes cleanly (1000); a second one leaves at once.
      const interrupt = new AbortController();
      process.on("SIGINT", () => (interrupt.signal.aborted ? process.exit(130) : interrupt.abort()));
      const status = await runConnect(url, opts, {
        input: process.stdin,
        output: process.stdout,
        error: process.stderr,
        signal: interrupt.signal,
      });
      // stdin may still hold the event loop open: flush stdout, then leave.
      process.stdout.write("", () => process.exit(status));
    });
}

export const register = registerConnect;
