/** Helpers for the hixie tests: parse a raw request head, run a driver in queue mode, summarise events. */

import type { HixieRequest } from "../../../src/protocol/legacy/index.js";
import type { EngineEvent } from "../../../src/protocol/types.js";

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
