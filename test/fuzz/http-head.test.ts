/**
 * Fuzzing the HTTP/1.1 head parser (src/protocol/handshake/http-head-parser.ts) and the raw
 * listener that serves it, against Node's own parser (llhttp, through a node:http server fed
 * the same bytes on an in-memory socket):
 * - requests from a corpus of real upgrade heads (browsers, curl, ws, python-websockets, Rails'
 *   client), mutated byte-wise and line-wise (line ends, versions, methods, framing headers),
 *   and random bytes: the parser's verdict (accept / reject / needs more) is the same whatever
 *   the split (every index, byte by byte) and agrees with llhttp's, or the difference is one of
 *   the DIFFERENCES below, each justified; the raw listener answers what the parser decided;
 * - responses (the client side): the same split invariance, never a throw.
 * Run length: fuzz-config.ts.
 */
import assert from "node:assert/strict";
import { createServer, METHODS } from "node:http";
import { describe, it } from "node:test";
import fc from "fast-check";
import { RawListener } from "../../src/node/raw-listener.js";
import { HandshakeError } from "../../src/protocol/errors.js";
import { type HeadLimits, HttpHeadParser } from "../../src/protocol/handshake/http-head-parser.js";
import { memorySocket } from "../helpers/memory-socket.js";
import { fuzzParams } from "./fuzz-config.js";

const CORPUS = [
  // Chromium
  "GET /cable?token=abc HTTP/1.1\r\nHost: 127.0.0.1:41234\r\nConnection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\nUpgrade: websocket\r\nOrigin: http://127.0.0.1:41234\r\nSec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
  // Firefox
  "GET /chat HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nSec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\nSec-WebSocket-Protocol: actioncable-v1-json, actioncable-unsupported\r\nSec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nConnection: keep-alive, Upgrade\r\nCookie: _session=abc; theme=dark\r\nSec-Fetch-Dest: empty\r\nSec-Fetch-Mode: websocket\r\nSec-Fetch-Site: same-origin\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n",
  // curl
  "GET /ws HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: 2vTbKnVNnFuJ3rgD6SqV4Q==\r\nConnection: Upgrade\r\n\r\n",
  // ws (Node)
  "GET / HTTP/1.1\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: 1OHnA8kyx+c2wJsx9X3VbA==\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nHost: 127.0.0.1:9001\r\n\r\n",
  // python-websockets
  "GET /runCase?case=1&agent=x HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: E4WSEcseoWr4csPLS2QJHA==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: Python/3.11 websockets/10.4\r\n\r\n",
  // absolute-form, a proxy-style request
  "GET ws://example.com:80/path?q=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n\r\n",
  // plain HTTP
  "GET /healthz HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
];

const LIMITS: HeadLimits = {
  maxHeaderBytes: 16 * 1024,
  maxHeaderLine: 16 * 1024,
  maxHeaderCount: 100,
  allowBareLf: false,
};

type Verdict = { kind: "accept" } | { kind: "reject"; status: number; message: string } | { kind: "incomplete" };

/** Our parser's verdict on `bytes` cut at `cuts` (as the raw listener configures it). */
function ours(bytes: Uint8Array, cuts: readonly number[] = []): Verdict {
  const parser = new HttpHeadParser("request", LIMITS);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut <= at) continue;
    const r = parser.push(bytes.slice(at, cut));
    at = cut;
    if (r instanceof HandshakeError) return { kind: "reject", status: r.status, message: r.message };
    if (r !== null) return { kind: "accept" };
  }
  return { kind: "incomplete" };
}

/** llhttp's verdict: a node:http server reading the same bytes from an in-memory socket. */
const nodeServer = createServer(() => {});
nodeServer.on("upgrade", () => {});
nodeServer.on("connect", () => {});
function llhttp(bytes: Uint8Array): Promise<{ kind: "accept" | "reject" | "incomplete"; code?: string }> {
  return new Promise((resolve) => {
    const { socket, written } = memorySocket();
    let verdict: { kind: "accept" | "reject" | "incomplete"; code?: string } = { kind: "incomplete" };
    // The first verdict is the head's: later bytes are a body or the next request (pipelining).
    const accepted = () => {
      if (verdict.kind === "incomplete") verdict = { kind: "accept" };
    };
    const refused = (error: NodeJS.ErrnoException) => {
      if (verdict.kind === "incomplete") verdict = { kind: "reject", code: error.code };
    };
    nodeServer.once("request", accepted);
    nodeServer.once("upgrade", accepted);
    nodeServer.once("connect", accepted);
    nodeServer.once("clientError", refused);
    nodeServer.emit("connection", socket);
    socket.push(Buffer.from(bytes));
    setImmediate(() =>
      setImmediate(() => {
        nodeServer.off("request", accepted);
        nodeServer.off("upgrade", accepted);
        nodeServer.off("connect", accepted);
        nodeServer.off("clientError", refused);
        // Node answers some requests itself (a missing Host: 400) without an event.
        if (verdict.kind === "incomplete" && /^HTTP\/1\.1 4\d\d/.test(written())) {
          verdict = { kind: "reject", code: `answered ${written().slice(9, 12)}` };
        }
        socket.destroy();
        resolve(verdict);
      }),
    );
  });
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
/** The first line, up to its CRLF (a bare LF inside stays in it). */
const requestLine = (bytes: Uint8Array) => latin1(bytes).split("\r\n")[0] ?? "";

/**
 * Where the parser and llhttp may disagree, and why. Each entry: when it applies (our verdict,
 * llhttp's, the input) and the justification (also in SECURITY.md).
 */
const DIFFERENCES: Array<{
  why: string;
  applies: (input: Uint8Array, our: Verdict, node: { kind: string; code?: string }) => boolean;
}> = [
  {
    why: "extension methods: RFC 9110 9.1 makes any token a method; llhttp knows a fixed list. The handshake answers a method other than GET with 405",
    applies: (input, our, node) => {
      // The method, or the start of one still arriving: any token for us, llhttp's list only.
      const method = requestLine(input).split(" ")[0] ?? "";
      return (
        our.kind !== "reject" &&
        node.code === "HPE_INVALID_METHOD" &&
        /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method) &&
        !METHODS.includes(method)
      );
    },
  },
  {
    why: "HTTP/1.2 to HTTP/1.9: RFC 9112 2.3 processes a higher minor version as HTTP/1.1; llhttp refuses them",
    applies: (input, our, node) =>
      our.kind !== "reject" && node.code === "HPE_INVALID_VERSION" && / HTTP\/1\.[2-9]$/.test(requestLine(input)),
  },
  {
    why: "HTTP/0.9 and HTTP/2.0 request lines: 505 at the version (RFC 9112 2.3; HTTP/2 is not spoken in HTTP/1 syntax: issue 25 finding 5); llhttp takes them",
    applies: (input, our, node) =>
      our.kind === "reject" &&
      our.status === 505 &&
      node.kind !== "reject" &&
      /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [\x21-\x7e]+ HTTP\/(0\.9|2\.0)/.test(requestLine(input)),
  },
  {
    why: "a request line that is not exactly method SP target SP HTTP-version CRLF (several spaces; no version: an HTTP/0.9 simple request; a bare LF): 400; RFC 9112 3 allows llhttp's lenient reading but warns it enables request smuggling",
    applies: (input, our, node) =>
      our.kind === "reject" &&
      our.status === 400 &&
      node.kind !== "reject" &&
      !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [\x21-\x7e]+ HTTP\/\d\.\d$/.test(requestLine(input)),
  },
  {
    why: "request targets: the parser takes any visible-ASCII target; acceptHandshake then refuses what is not origin-form or absolute-form (400); llhttp refuses some of them while parsing",
    applies: (_input, our, node) => our.kind !== "reject" && node.code === "HPE_INVALID_URL",
  },
  {
    why: "Transfer-Encoding: RFC 9112 6.3 as written (a request's last transfer coding must be chunked); llhttp lets through a value it does not read as a list of codings (e.g. '-chunked, gzip')",
    applies: (_input, our, node) =>
      our.kind === "reject" && our.message.includes("transfer coding") && node.kind !== "reject",
  },
  {
    why: "a framing field (Content-Length, Transfer-Encoding) is judged at its line end; llhttp may refuse it a few bytes earlier, within the line: the same refusal once the line ends",
    applies: (input, our, node) => {
      if (our.kind !== "incomplete" || node.kind !== "reject") return false;
      const ended = ours(Uint8Array.from([...input, 0x0d, 0x0a]));
      return ended.kind === "reject" && ended.message.startsWith("Invalid message framing");
    },
  },
  {
    why: "a Content-Length value followed by HTAB: RFC 9110 5.5 strips a field value's OWS (SP / HTAB), so it is that number; llhttp takes trailing SP but refuses HTAB after the digits",
    applies: (input, our, node) =>
      our.kind !== "reject" &&
      node.code === "HPE_INVALID_CONTENT_LENGTH" &&
      /\r\ncontent-length:[ \t]*\d+ *\t[ \t]*\r\n/i.test(latin1(input)),
  },
  {
    why: "a missing Host: the parser has no opinion; acceptHandshake answers 400 (RFC 6455 4.1); node:http answers 400 itself",
    applies: (input, our, node) => {
      // node:http answers 400 itself, then may go on reading what follows as another request.
      const head = latin1(input).split("\r\n\r\n")[0] ?? "";
      return our.kind === "accept" && node.kind === "reject" && !/\r\nhost:/i.test(`${head}\r\n`);
    },
  },
];

function explain(input: Uint8Array, our: Verdict, node: { kind: string; code?: string }): string | undefined {
  if (our.kind === node.kind) return "same";
  return DIFFERENCES.find((d) => d.applies(input, our, node))?.why;
}

/** Mutations of a corpus head: bytes flipped, inserted, deleted; lines dropped, doubled, re-ended; versions, methods, framing headers. */
const requestArb = fc
  .tuple(
    fc.constantFrom(...CORPUS),
    fc.array(
      fc.oneof(
        fc.tuple(fc.constant("flip"), fc.nat(), fc.integer({ min: 0, max: 255 })),
        fc.tuple(
          fc.constant("insert"),
          fc.nat(),
          fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x00, 0x7f, 0xff, 0x2c),
        ),
        fc.tuple(fc.constant("delete"), fc.nat(), fc.constant(0)),
        fc.tuple(fc.constant("line"), fc.nat(), fc.nat()),
      ),
      { maxLength: 3 },
    ),
    fc.constantFrom(
      "",
      "",
      "",
      "Content-Length: 0\r\n",
      "Content-Length: 5\r\n",
      "Content-Length: 0\r\nContent-Length: 0\r\n",
      "Content-Length: x\r\n",
      "Transfer-Encoding: chunked\r\n",
      "Transfer-Encoding: chunked, gzip\r\n",
      "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
      "X-Folded: a\r\n b\r\n",
      "X Bad: 1\r\n",
      ": empty\r\n",
    ),
    fc.constantFrom("", "", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.1 "),
    fc.constantFrom("", "", "", "POST", "PUT", "CONNECT", "get", "FOO", "M-SEARCH", "GET  "),
  )
  .map(([head, edits, extra, version, method]) => {
    let text = head.replace("\r\n\r\n", `\r\n${extra}\r\n`);
    if (version !== "") text = text.replace(/HTTP\/1\.1\r\n/, `${version}\r\n`);
    if (method !== "") text = text.replace(/^GET /, `${method} `);
    const bytes = [...Buffer.from(text, "latin1")];
    for (const [kind, at, value] of edits) {
      const i = at % bytes.length;
      if (kind === "flip") bytes[i] = value;
      else if (kind === "insert") bytes.splice(i, 0, value);
      else if (kind === "delete") bytes.splice(i, 1);
      else {
        // A line-wise edit: drop, double or re-end (bare LF / bare CR) the line at `i`.
        const lines = Buffer.from(bytes).toString("latin1").split("\r\n");
        const l = at % lines.length;
        const op = value % 4;
        if (op === 0) lines.splice(l, 1);
        else if (op === 1) lines.splice(l, 0, lines[l]!);
        else lines[l] = `${lines[l]}${op === 2 ? "\n" : "\r"}`;
        bytes.splice(0, bytes.length, ...Buffer.from(lines.join("\r\n"), "latin1"));
      }
    }
    return Uint8Array.from(bytes);
  });

const inputArb = fc.oneof(
  { weight: 8, arbitrary: requestArb },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
);

/** The raw listener's answer to `bytes`: "upgrade", an HTTP status, or "none". */
async function rawListener(bytes: Uint8Array): Promise<string> {
  let upgraded = false;
  const listener = new RawListener({
    maxHeaderBytes: 16 * 1024,
    maxHeaderCount: 100,
    handshakeTimeout: 0,
    onUpgrade: (_req, socket) => {
      upgraded = true;
      socket.destroy();
    },
    onError: () => {},
  });
  const { socket, written } = memorySocket();
  listener.server.emit("connection", socket);
  socket.push(Buffer.from(bytes));
  await new Promise((resolve) => setImmediate(resolve));
  socket.destroy();
  if (upgraded) return "upgrade";
  const status = /^HTTP\/1\.1 (\d{3})/.exec(written())?.[1];
  return status ?? "none";
}

describe("fuzz: the HTTP head parser, the raw listener, and llhttp", { timeout: 600_000 }, () => {
  it("requests: one verdict whatever the split; llhttp agrees or the difference is a listed one; the raw listener answers it", async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(inputArb, async (bytes) => {
        const our = ours(bytes);
        if (bytes.length <= 400) {
          for (let i = 1; i < bytes.length; i++) assert.deepEqual(ours(bytes, [i]), our, `split at ${i}`);
          assert.deepEqual(
            ours(
              bytes,
              Array.from({ length: bytes.length }, (_, i) => i),
            ),
            our,
            "byte by byte",
          );
        }
        const node = await llhttp(bytes);
        const why = explain(bytes, our, node);
        assert.ok(
          why !== undefined,
          `unexplained disagreement: ours ${JSON.stringify(our)}, llhttp ${JSON.stringify(node)} on ${JSON.stringify(latin1(bytes).slice(0, 100))} ... ${JSON.stringify(latin1(bytes).slice(-100))}`,
        );
        seen.set(why, (seen.get(why) ?? 0) + 1);
        // The raw listener: an upgrade request is handed over, any other head answered (426), a
        // refused one gets the parser's status, an incomplete one waits.
        const answer = await rawListener(bytes);
        if (our.kind === "reject") assert.equal(answer, String(our.status));
        else if (our.kind === "incomplete") assert.equal(answer, "none");
        else assert.ok(answer === "upgrade" || answer === "426", `accepted head answered ${answer}`);
      }),
      fuzzParams(600),
    );
    // Most inputs are judged alike; the report shows which listed differences occurred.
    assert.ok((seen.get("same") ?? 0) > 0);
  });

  it("responses (the client's side): one verdict whatever the split, never a throw", () => {
    const RESPONSES = [
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n\x81\x05hello",
      "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nForbidden",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    ];
    const responseArb = fc
      .tuple(
        fc.constantFrom(...RESPONSES),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      )
      .map(([text, edits]) => {
        const bytes = Buffer.from(text, "latin1");
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        return new Uint8Array(bytes);
      });
    const verdict = (bytes: Uint8Array, cuts: number[]) => {
      const parser = new HttpHeadParser("response");
      let at = 0;
      for (const cut of [...cuts, bytes.length]) {
        if (cut <= at) continue;
        const r = parser.push(bytes.slice(at, cut));
        at = cut;
        if (r instanceof HandshakeError) return `reject ${r.status} ${r.message}`;
        if (r !== null) {
          parser.push(bytes.slice(at)); // the rest goes to the remainder
          return `accept ${r.status} ${JSON.stringify(r.rawHeaders)} ${Buffer.from(parser.remainder()).toString("hex")}`;
        }
      }
      return "incomplete";
    };
    fc.assert(
      fc.property(fc.oneof(responseArb, fc.uint8Array({ maxLength: 200 })), (bytes) => {
        const whole = verdict(bytes, []);
        for (let i = 1; i < bytes.length; i++) {
          // The remainder is what followed the head, whatever the split.
          assert.equal(verdict(bytes, [i]), whole, `split at ${i}`);
        }
      }),
      fuzzParams(500),
    );
  });
});
