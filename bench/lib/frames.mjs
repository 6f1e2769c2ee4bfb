// Frame building and counting for the load generator.
// Contract: `maskedFrame` builds one client frame (RFC 6455 5.2/5.3: clients MUST mask) once; the
// load generator reuses the same bytes for every send. `FrameCounter` walks server frames by their
// headers only (no unmasking, no copying, no UTF-8 check) and counts completed data messages.
import { deflateRawSync } from "node:zlib";

/** Fixed mask key: masking is done once per benchmark, not per send. */
const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/**
 * One masked client frame. `compressed` sets RSV1 (RFC 7692 7.2.1) and sends the payload deflated
 * without context takeover, so the same bytes stay valid for every message.
 */
export function maskedFrame(payload, { binary = false, compressed = false } = {}) {
  let body = payload;
  if (compressed) {
    // RFC 7692 7.2.1: remove the 4 trailing octets 0x00 0x00 0xff 0xff of a sync flush.
    const d = deflateRawSync(payload, { finishFlush: 2 /* Z_SYNC_FLUSH */ });
    body = d.subarray(0, d.length - 4);
  }
  const len = body.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + ext + 4 + len);
  frame[0] = 0x80 | (compressed ? 0x40 : 0) | (binary ? 0x2 : 0x1);
  let o = 2;
  if (ext === 0) frame[1] = 0x80 | len;
  else if (ext === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
    o = 4;
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    frame.writeUInt32BE(len >>> 0, 6);
    o = 10;
  }
  MASK.copy(frame, o);
  o += 4;
  for (let i = 0; i < len; i++) frame[o + i] = body[i] ^ MASK[i & 3];
  return frame;
}

/** `count` copies of `frame` back to back: a pipelined batch written with one write call. */
export function repeatFrame(frame, count) {
  const out = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(out, i * frame.length);
  return out;
}

/**
 * Counts completed data messages (FIN set, opcode < 8) in a server byte stream by walking frame
 * headers. Server frames are unmasked (RFC 6455 5.1), so a header is 2, 4 or 10 bytes.
 */
export class FrameCounter {
  #skip = 0; // payload bytes still to skip in the current frame
  #countAtEnd = false; // whether the current frame ends a data message
  #carry = null; // a header split across two reads
  compressedSeen = 0; // data frames with RSV1 set (server compressed its answer)

  /** Returns how many messages completed in `buf`. */
  push(buf) {
    if (this.#carry !== null) {
      buf = Buffer.concat([this.#carry, buf]);
      this.#carry = null;
    }
    const n = buf.length;
    let i = 0;
    let done = 0;
    if (this.#skip > 0) {
      if (this.#skip > n) {
        this.#skip -= n;
        return 0;
      }
      i = this.#skip;
      this.#skip = 0;
      if (this.#countAtEnd) done++;
    }
    while (i < n) {
      if (n - i < 2) break;
      const b0 = buf[i];
      const b1 = buf[i + 1];
      const len7 = b1 & 127;
      let hlen = 2;
      let len = len7;
      if (len7 === 126) {
        hlen = 4;
        if (n - i < 4) break;
        len = buf.readUInt16BE(i + 2);
      } else if (len7 === 127) {
        hlen = 10;
        if (n - i < 10) break;
        len = buf.readUInt32BE(i + 2) * 2 ** 32 + buf.readUInt32BE(i + 6);
      }
      if (b1 & 128) hlen += 4; // a masked server frame is a protocol error; walk it anyway
      const counts = (b0 & 0x80) !== 0 && (b0 & 0x0f) < 8;
      if (counts && (b0 & 0x40) !== 0) this.compressedSeen++;
      const end = i + hlen + len;
      if (end <= n) {
        if (counts) done++;
        i = end;
      } else if (i + hlen <= n) {
        this.#skip = end - n;
        this.#countAtEnd = counts;
        return done;
      } else break;
    }
    if (i < n) this.#carry = Buffer.from(buf.subarray(i));
    return done;
  }
}

/** The opening handshake request (RFC 6455 4.1), built once per connection target. */
export function handshakeRequest(host, port, path, { deflate = false, protocol = "" } = {}) {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : "") +
      (deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n" : "") +
      "\r\n",
    "latin1",
  );
}
