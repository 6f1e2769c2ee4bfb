// The head parser's line scanner (src/protocol/handshake/head-line-scanner.ts) on its own: every
// prefix of a valid line passes, a line scanned in pieces (split at every byte) ends in the same
// state as scanned whole, and each kind of bad byte fails at once with its status and message.
// The parser's use of it (a verdict before the line's LF) is in http-head-parser.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  HEADER_LINE,
  type LineScan,
  REQUEST_LINE,
  STATUS_LINE,
  scanError,
  scanLine,
} from "../../../src/protocol/handshake/head-line-scanner.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Scan `text` from `start` in the pieces given by `cuts`; stops at a failure. */
function scanPieces(text: string, start: LineScan, cuts: number[]): LineScan {
  const bytes = latin1(text);
  let scan = start;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut < from || cut > bytes.length) continue;
    scan = scanLine(bytes, from, cut, scan);
    if (scan < 0) return scan;
    from = cut;
  }
  return scan;
}

const VALID: Array<[string, LineScan]> = [
  ["GET /chat HTTP/1.1\r", REQUEST_LINE],
  ["GET /chat HTTP/1.1", REQUEST_LINE],
  ["M-SEARCH * HTTP/1.0\r", REQUEST_LINE],
  ["\r", REQUEST_LINE],
  ["HTTP/1.1 101 Switching Protocols\r", STATUS_LINE],
  ["HTTP/1.1 200 \r", STATUS_LINE],
  ["HTTP/1.0 404\r", STATUS_LINE],
  ["HTTP/1.1 101 R\xe9ponse\tok\r", STATUS_LINE],
  ["Host: server.example.com\r", HEADER_LINE],
  ["X-Empty:\r", HEADER_LINE],
  ["Sec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ== \t\r", HEADER_LINE],
  ["X-Obs: caf\xe9\r", HEADER_LINE],
  ["\r", HEADER_LINE],
];

const verdict = (text: string, start: LineScan) => {
  const scan = scanPieces(text, start, []);
  assert.ok(scan < 0, `${JSON.stringify(text)}: passed`);
  const error = scanError(scan);
  return { status: error.status, message: error.message };
};

describe("head-line-scanner: valid lines", () => {
  it("passes every prefix of a valid line, and ends in the same state split at every byte", () => {
    for (const [text, start] of VALID) {
      const whole = scanPieces(text, start, []);
      assert.ok(whole >= 0, JSON.stringify(text));
      for (let i = 0; i <= text.length; i++) {
        assert.ok(scanPieces(text.slice(0, i), start, []) >= 0, `${JSON.stringify(text)} prefix ${i}`);
        assert.equal(scanPieces(text, start, [i]), whole, `${JSON.stringify(text)} split at ${i}`);
      }
      const bytewise = Array.from({ length: text.length }, (_, i) => i);
      assert.equal(scanPieces(text, start, bytewise), whole, `${JSON.stringify(text)} byte by byte`);
    }
  });

  it("gives the same verdict split anywhere on random bytes after a valid start", () => {
    const starts: Array<[string, LineScan]> = [
      ["GET / ", REQUEST_LINE],
      ["HTTP/1.1 1", STATUS_LINE],
      ["Host: ", HEADER_LINE],
      ["", HEADER_LINE],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...starts),
        fc.uint8Array({ maxLength: 24 }),
        fc.array(fc.nat({ max: 40 }), { maxLength: 4 }),
        ([prefix, start], tail, cuts) => {
          const text = prefix + String.fromCharCode(...tail);
          assert.equal(
            scanPieces(
              text,
              start,
              [...cuts].sort((a, b) => a - b),
            ),
            scanPieces(text, start, []),
          );
        },
      ),
    );
  });
});

describe("head-line-scanner: the first bad byte", () => {
  it("refuses noise that cannot start a request or status line", () => {
    for (const text of ["\x01", "\x16\x03", "GET /\x00", "GET  /", "G\tET", '{"a":1}', " GET"]) {
      assert.deepEqual(verdict(text, REQUEST_LINE), { status: 400, message: "Malformed request line" }, text);
    }
    for (const text of ["SSH-2.0", "HTTP/1.1 099", "HTTP/1.1  101", "http/1.1", "\r"]) {
      assert.deepEqual(verdict(text, STATUS_LINE), { status: 400, message: "Malformed status line" }, text);
    }
  });

  it("refuses bad header lines by kind: malformed, a bad value byte, obs-fold", () => {
    for (const text of ["Ho st: x", "Host : x", ":x", "H\x00"]) {
      assert.deepEqual(verdict(text, HEADER_LINE), { status: 400, message: "Malformed header line" }, text);
    }
    for (const text of ["Host: x\x00y", "Host: \x7f", "X: a\nb"]) {
      assert.deepEqual(verdict(text, HEADER_LINE), { status: 400, message: "Invalid character in a header value" });
    }
    for (const text of [" folded", "\tfolded"]) {
      assert.deepEqual(verdict(text, HEADER_LINE), { status: 400, message: "Obsolete line folding is not allowed" });
    }
  });

  it("refuses a CR anywhere but at the end of a complete line (RFC 9112 2.2)", () => {
    assert.deepEqual(verdict("Host: x\rU", HEADER_LINE), { status: 400, message: "Bare CR in the head" });
    assert.deepEqual(verdict("\r\r", REQUEST_LINE), { status: 400, message: "Bare CR in the head" });
    assert.equal(verdict("GET / HTTP/1.1\rx", REQUEST_LINE).message, "Bare CR in the head");
    // A CR before the line is complete is a malformed line, not a line end.
    assert.equal(verdict("GET /\r", REQUEST_LINE).message, "Malformed request line");
    assert.equal(verdict("GET / HTTP/1.\r", REQUEST_LINE).message, "Malformed request line");
    assert.equal(verdict("HTTP/1.1 10\r", STATUS_LINE).message, "Malformed status line");
    assert.equal(verdict("Host\r", HEADER_LINE).message, "Malformed header line");
  });

  it("speaks HTTP/1.x only: another major version is 505 in a request line, 400 in a status line", () => {
    for (const version of ["2", "0", "3", "9"]) {
      const request = verdict(`GET / HTTP/${version}`, REQUEST_LINE);
      assert.deepEqual(request, { status: 505, message: "HTTP version not supported: only HTTP/1.x" });
      const status = verdict(`HTTP/${version}`, STATUS_LINE);
      assert.deepEqual(status, { status: 400, message: "Malformed status line: not HTTP/1.x" });
    }
    assert.ok(scanPieces("GET / HTTP/1.9\r", REQUEST_LINE, []) >= 0);
    assert.equal(verdict("GET / HTTP/1.1 x", REQUEST_LINE).message, "Malformed request line");
  });
});
