// The floor peer: the cheapest WebSocket echo we know how to write as a Node program, so that the
// suite can show how much of a Node server's CPU per message is Node's own I/O (net.Socket reads
// through the stream layer, one write per connection per event-loop turn) rather than the library.
//
// NOT A WEBSOCKET IMPLEMENTATION. It answers the opening handshake like bare.mjs (no validation),
// then walks client frames by their headers only (FIN and opcode passed through, RSV cleared,
// 7/16/64-bit lengths), unmasks with a JS loop, never checks UTF-8, never enforces limits or frame ordering,
// and echoes every data frame as it came (so fragments come back as fragments): just enough for
// the suite's workloads (small-echo, latency, large, conns-1000, broadcast, handshakes). Pings get
// pongs; a close frame is answered with the same close frame, then the socket is ended.
//
// App logic as the other peers: path /pub broadcasts each message to every connected socket (the
// publisher's own copy is its ack), any other path echoes. How it stays cheap:
// - frames that arrive whole are unmasked in place in the read chunk, compacted towards its start
//   (a server header is 4 bytes shorter), so one read's echoes are one view of that chunk: no copy,
//   no allocation per message; a broadcast writes that same view to every socket;
// - a frame split across reads is assembled into its output frame (header + payload, allocated
//   once when the header is known), each read unmasked into place (one pass: copy and unmask);
// - payloads are unmasked by a JS loop 4 bytes per step; from 1 KiB on by bufferutil's native
//   mask when it is installed (as ws and wirecable use it): the JS loop takes ~1 ms per MiB here,
//   bufferutil about as long as a copy;
// - output is batched: a socket's views of one event-loop turn leave in ONE socket.write (a
//   `setImmediate` flush list shared by all sockets, as wirecable does; FLOOR_FLUSH=read writes
//   at the end of each read callback instead, which measured the same).
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import net from "node:net";
import { serve } from "./common.mjs";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 1.3
const CRLFCRLF = Buffer.from("\r\n\r\n");
const FLUSH_PER_READ = process.env.FLOOR_FLUSH === "read";
// FLOOR_ONREAD=1: reads land in ONE process-wide buffer (net.Socket's `onread`), not in a fresh
// 64 KiB buffer per read; a frame spanning reads is copied (and unmasked) straight from it into
// its output frame. Node offers `onread` only to sockets it creates itself, so each accepted
// socket's handle is moved to a new net.Socket (`_handle`: internal; a measurement, not a design).
const ONREAD = process.env.FLOOR_ONREAD === "1";
const SHARED_READ = ONREAD ? Buffer.allocUnsafe(256 * 1024) : null;
// FLOOR_WRITE=handle: a turn's output goes straight to the socket's handle (a WriteWrap and
// handle.writeBuffer / writev, as Node's stream layer does underneath), skipping net.Socket's
// Writable (its state, the callback, the write request's closure): what the stream layer costs
// per write. Only while the Writable holds nothing (else its bytes would be overtaken); a write
// left queued in libuv keeps its request and buffers until its `oncomplete`.
const HANDLE_WRITE = process.env.FLOOR_WRITE === "handle";
const wrap = HANDLE_WRITE ? process.binding("stream_wrap") : null;
const WriteWrap = wrap?.WriteWrap;
const writeState = wrap?.streamBaseState;
const ASYNC = wrap?.kLastWriteWasAsync;
let spareReq = null; // a request whose write completed synchronously: libuv never took it
const CONCAT_LIMIT = 64 * 1024; // a turn's views up to this size are joined; above, one writev
const NATIVE_MIN = 1024; // payload bytes from which bufferutil unmasks (a native call costs ~100 ns)
const noop = () => {};
let native = null;
try {
  native = createRequire(import.meta.url)("bufferutil");
} catch {}

/** Every upgraded connection: the broadcast targets. */
const conns = [];
let dirty = [];
let spare = [];
let scheduled = false;

class Conn {
  constructor(socket) {
    this.socket = socket;
    this.pub = false;
    this.index = -1; // position in `conns`
    this.head = null; // handshake bytes so far (before the upgrade)
    this.upgraded = false;
    this.carry = null; // a frame header split across reads
    // The frame being assembled across reads (its server frame: header then payload).
    this.frame = null;
    this.payloadAt = 0; // where the payload starts in `frame`
    this.got = 0; // payload bytes in place so far
    this.mask = null; // its 4 mask bytes (a Buffer: bufferutil wants one)
    this.masked = true;
    // Output of this turn: the first view, then any further ones.
    this.out = null;
    this.more = null;
    this.outBytes = 0;
    this.closing = false;
  }
}

function queue(c, view) {
  if (c.out === null) {
    c.out = view;
    c.outBytes = view.length;
    dirty.push(c);
    if (!scheduled && !FLUSH_PER_READ) {
      scheduled = true;
      setImmediate(flushAll);
    }
  } else {
    (c.more ??= []).push(view);
    c.outBytes += view.length;
  }
}

function flushAll() {
  scheduled = false;
  const list = dirty;
  dirty = spare;
  for (let i = 0; i < list.length; i++) flush(list[i]);
  list.length = 0;
  spare = list;
}

function flush(c) {
  const out = c.out;
  const more = c.more;
  c.out = null;
  c.more = null;
  const socket = c.socket;
  if (socket.destroyed) return;
  if (HANDLE_WRITE && socket._handle !== null && socket.writableLength === 0)
    handleWrite(socket, out, more, c.outBytes);
  else if (more === null) socket.write(out);
  else if (c.outBytes <= CONCAT_LIMIT) socket.write(Buffer.concat([out, ...more], c.outBytes));
  else {
    socket.cork();
    socket.write(out);
    for (let i = 0; i < more.length; i++) socket.write(more[i]);
    socket.uncork(); // one writev
  }
  if (c.closing) socket.end();
}

function afterHandleWrite(status) {
  this.buffer = null;
  if (status < 0) this.socket.destroy();
}

function handleWrite(socket, out, more, bytes) {
  const handle = socket._handle;
  const req = spareReq ?? new WriteWrap();
  spareReq = null;
  req.handle = handle;
  req.oncomplete = afterHandleWrite;
  req.socket = socket;
  let err;
  let data;
  if (more === null) err = handle.writeBuffer(req, (data = out));
  else if (bytes <= CONCAT_LIMIT) err = handle.writeBuffer(req, (data = Buffer.concat([out, ...more], bytes)));
  else err = handle.writev(req, (data = [out, ...more]), true);
  if (err !== 0) return socket.destroy();
  if (writeState[ASYNC] !== 0)
    req.buffer = data; // libuv holds it until oncomplete
  else spareReq = req;
}

/** Data frames of /pub go to everyone (built once, the same view for every socket). */
function deliver(c, view) {
  if (!c.pub) return queue(c, view);
  for (let i = 0; i < conns.length; i++) queue(conns[i], view);
}

/** A complete control frame (`frame`: its server form): pong for ping, close echoed, pong dropped. */
function control(c, frame) {
  const op = frame[0] & 0x0f;
  if (op === 0x9) {
    frame[0] = 0x8a;
    queue(c, frame);
  } else if (op === 0x8) {
    queue(c, frame);
    c.closing = true;
  }
}

/**
 * Unmasks `n` bytes from src[s] to dst[d] with mask bytes m0..m3, 4 bytes per step. dst may
 * overlap src at a lower address (the in-place compaction: it trails by at least 4 bytes).
 */
function unmask(src, s, dst, d, n, m0, m1, m2, m3) {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    dst[d + i] = src[s + i] ^ m0;
    dst[d + i + 1] = src[s + i + 1] ^ m1;
    dst[d + i + 2] = src[s + i + 2] ^ m2;
    dst[d + i + 3] = src[s + i + 3] ^ m3;
  }
  if (i < n) dst[d + i] = src[s + i] ^ m0;
  if (i + 1 < n) dst[d + i + 1] = src[s + i + 1] ^ m1;
  if (i + 2 < n) dst[d + i + 2] = src[s + i + 2] ^ m2;
}

/** `unmask` with the mask of the frame being assembled, starting at payload index `k`. */
function unmaskAt(c, src, s, dst, d, n, k) {
  const m = c.mask;
  unmask(src, s, dst, d, n, m[k & 3], m[(k + 1) & 3], m[(k + 2) & 3], m[(k + 3) & 3]);
}

/** Starts assembling a frame whose payload continues past this read; returns bytes consumed. */
function startFrame(c, buf, p, n, b0, len7, ext, len, masked) {
  const hlen = 2 + ext;
  const frame = Buffer.allocUnsafe(hlen + len);
  frame[0] = b0 & 0x8f;
  frame[1] = len7;
  for (let k = 2; k < hlen; k++) frame[k] = buf[p + k];
  c.frame = frame;
  c.payloadAt = hlen;
  c.got = 0;
  c.masked = masked;
  const at = p + hlen;
  if (masked) {
    c.mask = Buffer.from(buf.subarray(at, at + 4));
    return hlen + 4 + fill(c, buf, at + 4, n - at - 4);
  }
  return hlen + fill(c, buf, at, n - at);
}

/** Puts up to `n` bytes of buf[s..] into the frame being assembled; returns how many it took. */
function fill(c, buf, s, n) {
  const frame = c.frame;
  const k = c.got;
  const take = Math.min(n, frame.length - c.payloadAt - k);
  const d = c.payloadAt + k;
  if (!c.masked) buf.copy(frame, d, s, s + take);
  else if (take < NATIVE_MIN || native === null) unmaskAt(c, buf, s, frame, d, take, k);
  else {
    // Bytes up to the mask's phase 0 in JS, then the rest natively.
    const h = (4 - (k & 3)) & 3;
    unmaskAt(c, buf, s, frame, d, h, k);
    native.mask(buf.subarray(s + h, s + take), c.mask, frame, d + h, take - h);
  }
  c.got = k + take;
  if (c.payloadAt + c.got === frame.length) {
    c.frame = null;
    c.mask = null;
    if (frame[0] & 0x08) control(c, frame);
    else deliver(c, frame);
  }
  return take;
}

/** One read's worth of client frames. */
function onFrames(c, chunk) {
  if (c.closing) return;
  let buf = chunk;
  let p = 0;
  if (c.frame !== null) {
    p = fill(c, buf, 0, buf.length);
    if (p === buf.length) return;
  } else if (c.carry !== null) {
    buf = Buffer.concat([c.carry, chunk]);
    c.carry = null;
  }
  const n = buf.length;
  let o = p; // end of this read's in-place output (it starts at o0)
  let o0 = p;
  while (p < n && !c.closing) {
    if (n - p < 2) break;
    const b0 = buf[p];
    const b1 = buf[p + 1];
    const len7 = b1 & 127;
    const masked = b1 >= 128;
    let ext = 0;
    let len = len7;
    if (len7 === 126) {
      ext = 2;
      if (n - p < 4) break;
      len = (buf[p + 2] << 8) | buf[p + 3];
    } else if (len7 === 127) {
      ext = 8;
      if (n - p < 10) break;
      len = buf.readUInt32BE(p + 2) * 2 ** 32 + buf.readUInt32BE(p + 6);
    }
    const hin = 2 + ext + (masked ? 4 : 0);
    if (n - p < hin) break;
    if (n - p < hin + len) {
      // Ends in a later read: the output so far leaves first, then this frame is assembled.
      if (o > o0) deliver(c, buf.subarray(o0, o));
      o0 = o = n;
      p += startFrame(c, buf, p, n, b0, len7, ext, len, masked);
      break;
    }
    // Whole frame: its server form is written at o (o <= p), payload unmasked in place.
    const start = o;
    buf[o] = b0 & 0x8f;
    buf[o + 1] = len7;
    for (let k = 2; k < 2 + ext; k++) buf[o + k] = buf[p + k];
    o += 2 + ext;
    const m = p + 2 + ext;
    if (masked && (len < NATIVE_MIN || native === null))
      unmask(buf, m + 4, buf, o, len, buf[m], buf[m + 1], buf[m + 2], buf[m + 3]);
    else {
      if (masked) native.unmask(buf.subarray(m + 4, m + 4 + len), buf.subarray(m, m + 4));
      buf.copyWithin(o, p + hin, p + hin + len);
    }
    o += len;
    p += hin + len;
    if (b0 & 0x08) {
      // A control frame: what came before it is delivered, it is answered on its own.
      if (start > o0) deliver(c, buf.subarray(o0, start));
      control(c, buf.subarray(start, o));
      o0 = o;
    }
  }
  if (o > o0) deliver(c, buf.subarray(o0, o));
  if (p < n && c.frame === null && !c.closing) c.carry = buf.subarray(p);
}

function onHandshake(c, chunk) {
  const head = c.head === null ? chunk : Buffer.concat([c.head, chunk]);
  const end = head.indexOf(CRLFCRLF);
  if (end < 0) {
    c.head = head;
    return;
  }
  c.head = null;
  const text = head.toString("latin1", 0, end);
  const key = /sec-websocket-key:\s*(\S+)/i.exec(text)?.[1] ?? "";
  const accept = createHash("sha1")
    .update(key + GUID)
    .digest("base64");
  c.socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  c.pub = text.startsWith("GET /pub ");
  c.upgraded = true;
  c.index = conns.length;
  conns.push(c);
  if (head.length > end + 4) onFrames(c, head.subarray(end + 4));
}

function onClose(c) {
  if (c.index < 0) return;
  // Swap-remove from the broadcast list.
  const last = conns.pop();
  if (last !== c) {
    conns[c.index] = last;
    last.index = c.index;
  }
  c.index = -1;
}

serve(
  ({ host }) =>
    new Promise((resolve) => {
      const server = net.createServer({ noDelay: true, pauseOnConnect: ONREAD }, (accepted) => {
        let socket = accepted;
        let c = null;
        if (ONREAD) {
          const handle = accepted._handle;
          accepted._handle = null;
          socket = new net.Socket({
            handle,
            onread: {
              buffer: SHARED_READ,
              callback(n, buf) {
                // Mid-frame reads go straight into the frame being assembled; anything else is
                // copied out first (answers are views of the chunk, the buffer is reused).
                if (c.upgraded && c.frame !== null && c.frame.length - c.payloadAt - c.got >= n) fill(c, buf, 0, n);
                else {
                  const chunk = Buffer.from(buf.subarray(0, n));
                  if (c.upgraded) onFrames(c, chunk);
                  else onHandshake(c, chunk);
                }
                if (FLUSH_PER_READ && dirty.length > 0) flushAll();
              },
            },
          });
          socket.setNoDelay(true);
        }
        c = new Conn(socket);
        socket.on("error", noop);
        socket.on("close", () => onClose(c));
        if (!ONREAD)
          socket.on("data", (chunk) => {
            if (c.upgraded) onFrames(c, chunk);
            else onHandshake(c, chunk);
            if (FLUSH_PER_READ && dirty.length > 0) flushAll();
          });
      });
      server.listen({ port: 0, host, backlog: 4096 }, () => resolve(server.address().port));
    }),
);
