/** Helpers for the hixie tests: parse a raw request head, run a driver on a recording host, summarise events. */

import {
  createHixieDriver,
  Draft75Driver,
  Draft76Driver,
  type HixieDriver,
  type HixieDriverOptions,
  type HixieRequest,
} from "../../../src/protocol/legacy/index.js";
import type { EngineEvent } from "../../../src/protocol/types.js";
import { type HostHooks, RecordingHost, recorded } from "../helpers/engine-run.js";

export const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
export const text = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

/** Parse "request line CRLF headers CRLF CRLF body" into a request and the bytes after the head. */
export function parseRequest(raw: Uint8Array): { request: HixieRequest; head: Uint8Array } {
  const s = text(raw);
  const end = s.indexOf("\r\n\r\n");
  const lines = s.slice(0, end).split("\r\n");
  const [method, target, version] = lines[0].split(" ");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return {
    request: { method, target, httpVersion: version.replace("HTTP/", ""), headers },
    head: raw.subarray(end + 4),
  };
}

/** Events as comparable plain data. */
export function summary(events: readonly EngineEvent[]): unknown[] {
  return events.map((e) => {
    switch (e.type) {
      case "text":
        return { type: "text", data: e.data };
      case "close":
        return {
          type: "close",
          code: e.code,
          wasClean: e.wasClean,
          error: e.error && "code" in e.error ? e.error.code : e.error?.name,
        };
      case "error":
        return { type: "error", error: "code" in e.error ? e.error.code : e.error.name };
      default:
        return { ...e };
    }
  });
}

/** Split `bytes` into chunks at the given offsets (copies, so the driver cannot rely on shared memory). */
export function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (const offset of [...offsets, bytes.length]) {
    out.push(bytes.slice(start, offset));
    start = offset;
  }
  return out;
}

// The opening-handshake examples of draft-hixie-thewebsocketprotocol-76 and -75 (their introductions).
export const DRAFT76_REQUEST =
  "GET /demo HTTP/1.1\r\n" +
  "Host: example.com\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n" +
  "Sec-WebSocket-Protocol: sample\r\n" +
  "Upgrade: WebSocket\r\n" +
  "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n" +
  "Origin: http://example.com\r\n" +
  "\r\n" +
  "^n:ds[4U";

export const DRAFT76_RESPONSE_HEAD =
  "HTTP/1.1 101 WebSocket Protocol Handshake\r\n" +
  "Upgrade: WebSocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Origin: http://example.com\r\n" +
  "Sec-WebSocket-Location: ws://example.com/demo\r\n" +
  "Sec-WebSocket-Protocol: sample\r\n" +
  "\r\n";
export const DRAFT76_ANSWER = "8jKS'y:G*Co,Wxa-";

export const DRAFT75_REQUEST =
  "GET /demo HTTP/1.1\r\n" +
  "Upgrade: WebSocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Host: example.com\r\n" +
  "Origin: http://example.com\r\n" +
  "WebSocket-Protocol: sample\r\n" +
  "\r\n";

export const DRAFT75_RESPONSE =
  "HTTP/1.1 101 Web Socket Protocol Handshake\r\n" +
  "Upgrade: WebSocket\r\n" +
  "Connection: Upgrade\r\n" +
  "WebSocket-Origin: http://example.com\r\n" +
  "WebSocket-Location: ws://example.com/demo\r\n" +
  "WebSocket-Protocol: sample\r\n" +
  "\r\n";

export type Recorded<T> = T & { readonly host: RecordingHost; takeOutput(): Uint8Array[]; takeEvents(): EngineEvent[] };
type DriverOptions = HixieDriverOptions & HostHooks;

function split(options: DriverOptions = {}): [HixieDriverOptions, HostHooks] {
  const { onOutput, onOutputRange, onEvent, ...rest } = options;
  return [rest, { onOutput, onOutputRange, onEvent }];
}

/**
 * The events a driver raises while it is constructed are dispatched on the next call into it (or
 * in a microtask): the helpers below make that call (an empty `receiveData`) so that a test reads
 * them at once.
 */
function settled<T extends HixieDriver>(driver: T): T {
  driver.receiveData(new Uint8Array(0));
  return driver;
}

/** A draft-76 driver on a recording host (hooks in `options` take output or events instead). */
export function driver76(request: HixieRequest, options?: DriverOptions): Recorded<Draft76Driver> {
  const [driverOptions, hooks] = split(options);
  return recorded((host) => settled(new Draft76Driver(request, host, driverOptions)), hooks);
}

/** A draft-75 driver on a recording host. */
export function driver75(request: HixieRequest, options?: DriverOptions): Recorded<Draft75Driver> {
  const [driverOptions, hooks] = split(options);
  return recorded((host) => settled(new Draft75Driver(request, host, driverOptions)), hooks);
}

/** createHixieDriver on a recording host (null for a request that is not hixie). */
export function hixieDriver(request: HixieRequest, options?: DriverOptions): Recorded<HixieDriver> | null {
  const [driverOptions, hooks] = split(options);
  const host = new RecordingHost(hooks);
  const driver = createHixieDriver(request, host, driverOptions);
  if (driver === null) return null;
  settled(driver);
  return Object.assign(driver, { host, takeOutput: () => host.takeOutput(), takeEvents: () => host.takeEvents() });
}

/** A legacy driver on a recording host. */
export type TestDriver = Recorded<HixieDriver>;
