/**
 * The healthy client of the attack suite: a separate process (so that the attacker's work in the
 * test process does not delay it) holding ONE ordinary WebSocket connection to the server under
 * attack and measuring round trips on it, one at a time, every `interval` ms.
 *
 * Deliberately independent of the code under test: raw TCP, a hand-written RFC 6455 client.
 * Modes: `echo` (a text message echoed back) and `cable` (the demo's /cable: subscribe to
 * ChatChannel in its own room, then `speak` and wait for the broadcast of that message).
 *
 * Started by harness.ts with `fork(file, [json])`, json = { url, mode, interval, room, origin }.
 * IPC: sends `{ ready: true }` once it measures; answers `{ report: n }`, once it has measured
 * at least n round trips since the previous report (or failed), with its figures
 * (`{ count, failures, max, p50, p90, rtts, closed, error }`, round trips in ms); `"stop"` closes
 * and exits. A round trip not answered within `timeout` ms counts as a failure (and ends the
 * measurement: the connection is then considered unhealthy).
 */
import { createHash, randomBytes } from "node:crypto";
import { connect } from "node:net";

const config = JSON.parse(process.argv[2] ?? "{}");
const url = new URL(config.url);
const mode = config.mode ?? "echo";
const interval = config.interval ?? 50;
const timeout = config.timeout ?? 10_000;
const room = config.room ?? "healthy";

const rtts = [];
let failures = 0;
let closed = null;
let error = null;
let seq = 0;
/** The round trip in flight: its tag, start time and timer. */
let inFlight = null;
let stopping = false;

function frame(opcode, text) {
  const payload = Buffer.from(text);
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

const key = randomBytes(16).toString("base64");
const expectedAccept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
const socket = connect({ host: url.hostname, port: Number(url.port) });
socket.setNoDelay(true);
let buffer = Buffer.alloc(0);
let upgraded = false;
let text = [];

function send(opcode, data) {
  if (!socket.destroyed) socket.write(frame(opcode, data));
}

function fail(message) {
  error ??= message;
  if (inFlight !== null) {
    clearTimeout(inFlight.timer);
    inFlight = null;
    failures++;
  }
  maybeReport();
}

socket.on("connect", () => {
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
  if (mode === "cable") head += "Sec-WebSocket-Protocol: actioncable-v1-json\r\n";
  if (config.origin) head += `Origin: ${config.origin}\r\n`;
  socket.write(`${head}\r\n`);
});
socket.on("error", (err) => fail(`socket error: ${err.message}`));
socket.on("close", () => {
  closed ??= "socket closed";
  fail(closed);
});
socket.on("data", (chunk) => {
  buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
  if (!upgraded) {
    const end = buffer.indexOf("\r\n\r\n");
    if (end === -1) return;
    const head = buffer.subarray(0, end).toString("latin1");
    buffer = buffer.subarray(end + 4);
    if (!head.startsWith("HTTP/1.1 101") || !head.includes(expectedAccept)) {
      fail(`handshake refused: ${head.split("\r\n")[0]}`);
      socket.destroy();
      return;
    }
    upgraded = true;
    if (mode === "echo") ready();
  }
  parseFrames();
});

function parseFrames() {
  for (;;) {
    if (buffer.length < 2) return;
    const b0 = buffer[0];
    let len = buffer[1] & 0x7f;
    let at = 2;
    if (len === 126) {
      if (buffer.length < 4) return;
      len = buffer.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (buffer.length < 10) return;
      len = Number(buffer.readBigUInt64BE(2));
      at = 10;
    }
    if (buffer.length < at + len) return;
    const payload = buffer.subarray(at, at + len);
    buffer = buffer.subarray(at + len);
    const opcode = b0 & 0x0f;
    if (opcode === 0x9) send(0xa, payload);
    else if (opcode === 0x8) {
      closed = `close frame ${payload.length >= 2 ? payload.readUInt16BE(0) : 1005}`;
      socket.end();
    } else if (opcode === 0x1 || opcode === 0x0) {
      text.push(payload.toString());
      if (b0 & 0x80) {
        onMessage(text.join(""));
        text = [];
      }
    }
  }
}

const identifier = JSON.stringify({ channel: "ChatChannel", room, name: `healthy-${process.pid}` });

function onMessage(message) {
  if (mode === "echo") {
    if (inFlight !== null && message === inFlight.tag) finish();
    return;
  }
  let data;
  try {
    data = JSON.parse(message);
  } catch {
    return;
  }
  if (data.type === "welcome") {
    send(0x1, JSON.stringify({ command: "subscribe", identifier }));
  } else if (data.type === "confirm_subscription") {
    ready();
  } else if (data.type === "reject_subscription") {
    fail("subscription rejected");
  } else if (data.identifier === identifier && inFlight !== null) {
    const m = data.message;
    if (m?.type === "message" && m.id === inFlight.tag) finish();
    else if (m?.type === "refused" && m.id === inFlight.tag) fail(`speak refused: ${m.reason}`);
  }
}

let started = false;
function ready() {
  if (started) return;
  started = true;
  process.send?.({ ready: true });
  next();
}

function next() {
  if (stopping || error !== null || socket.destroyed) return;
  const tag = `hc${process.pid}x${++seq}`;
  const timer = setTimeout(() => fail(`round trip ${tag} not answered within ${timeout} ms`), timeout);
  inFlight = { tag, start: process.hrtime.bigint(), timer };
  if (mode === "echo") send(0x1, tag);
  else {
    const data = JSON.stringify({ action: "speak", id: tag, text: "ping" });
    send(0x1, JSON.stringify({ command: "message", identifier, data }));
  }
}

function finish() {
  const rtt = Number(process.hrtime.bigint() - inFlight.start) / 1e6;
  clearTimeout(inFlight.timer);
  inFlight = null;
  rtts.push(rtt);
  maybeReport();
  setTimeout(next, interval);
}

function quantile(sorted, q) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** A report asked for, waiting for its minimum of round trips (or a failure). */
let reportWanted = null;

function maybeReport() {
  if (reportWanted === null) return;
  if (rtts.length < reportWanted && error === null && closed === null) return;
  reportWanted = null;
  const taken = rtts.splice(0);
  const sorted = [...taken].sort((a, b) => a - b);
  process.send?.({
    report: {
      count: taken.length,
      failures,
      max: sorted.at(-1) ?? 0,
      p50: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
      rtts: taken,
      closed,
      error,
    },
  });
}

process.on("message", (message) => {
  if (typeof message === "object" && message !== null && "report" in message) {
    reportWanted = message.report;
    maybeReport();
  } else if (message === "stop") {
    stopping = true;
    socket.destroy();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
