#!/usr/bin/env node
// The JS cost of reading an upgrade request head with HttpHeadParser (what RawListener does per
// handshake) and of rendering the 101 response bytes (header-tokens latin1), without sockets.
// Usage: npm run build && node bench/micro/head-parser.mjs [ROUNDS]   (WIRECABLE_DIST=<build> for another build)
// Prints ns per operation for: a Chromium-like request (~500 B, 12 headers) in one Buffer chunk,
// the same split in two chunks, a minimal request (ws/node client), and latin1() of a 101 head.
// Run it several times and compare minimums (a shared machine is noisy).
const dist = process.env.WIRECABLE_DIST ?? new URL("../../dist", import.meta.url).pathname;
const { HttpHeadParser } = await import(`${dist}/protocol/handshake/http-head-parser.js`);
const { latin1 } = await import(`${dist}/protocol/handshake/header-tokens.js`);

const CHROMIUM = Buffer.from(
  "GET /cable?token=abc123 HTTP/1.1\r\n" +
    "Host: 127.0.0.1:41234\r\n" +
    "Connection: Upgrade\r\n" +
    "Pragma: no-cache\r\n" +
    "Cache-Control: no-cache\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
    "Upgrade: websocket\r\n" +
    "Origin: http://127.0.0.1:41234\r\n" +
    "Sec-WebSocket-Version: 13\r\n" +
    "Accept-Encoding: gzip, deflate, br\r\n" +
    "Accept-Language: en-US,en;q=0.9\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
  "latin1",
);
const MINIMAL = Buffer.from(
  "GET / HTTP/1.1\r\n" +
    "Sec-WebSocket-Version: 13\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
    "Connection: Upgrade\r\n" +
    "Upgrade: websocket\r\n" +
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
    "Host: 127.0.0.1:41234\r\n\r\n",
  "latin1",
);
const SPLIT_AT = 200;
const CHROMIUM_A = CHROMIUM.subarray(0, SPLIT_AT);
const CHROMIUM_B = CHROMIUM.subarray(SPLIT_AT);
const RESPONSE =
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

const limits = { maxStartLine: 8192, maxHeaderLine: 16384, maxHeaderCount: 100, maxHeaderBytes: 16384 };
let sink = 0;
const cases = {
  chromium: () => {
    const p = new HttpHeadParser("request", limits);
    sink += p.push(CHROMIUM).rawHeaders.length;
  },
  "chromium-2chunks": () => {
    const p = new HttpHeadParser("request", limits);
    p.push(CHROMIUM_A);
    sink += p.push(CHROMIUM_B).rawHeaders.length;
  },
  minimal: () => {
    const p = new HttpHeadParser("request", limits);
    sink += p.push(MINIMAL).rawHeaders.length;
  },
  "latin1-101": () => {
    sink += latin1(RESPONSE).length;
  },
};

// sanity: the parse works
{
  const p = new HttpHeadParser("request", limits);
  const h = p.push(CHROMIUM);
  if (h === null || h.rawHeaders === undefined || h.headers.get("sec-websocket-key") !== "dGhlIHNhbXBsZSBub25jZQ==")
    throw new Error(`bad parse: ${h}`);
}

const ROUNDS = Number(process.argv[2] ?? 7);
const N = 100_000;
const best = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(cases)) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn();
    const ns = Number(process.hrtime.bigint() - t0) / N;
    if (r > 0) best[name] = Math.min(best[name] ?? Infinity, ns);
  }
}
for (const [name, ns] of Object.entries(best))
  console.log(`${name.padEnd(18)} ${ns.toFixed(0).padStart(6)} ns (min of ${ROUNDS - 1})`);
if (sink === 0) console.log("");
