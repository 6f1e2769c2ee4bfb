/**
 * Autobahn sections 12 and 13 (permessage-deflate, RFC 7692) over real TCP against
 * `wirecable echo --deflate`, driven by `ws`'s client with perMessageDeflate (threshold 0: every
 * message compressed) in the 13.x offer configurations. Every case here is REDUCED and named so:
 * message sizes follow 12.x.1-12.x.10 (16 B .. 128 KiB), but Autobahn sends 1000 messages per
 * case, one round trip each, cut from its test files (12.1 JSON, 12.2 a bitmap, 12.3 text,
 * 12.4 HTML, 12.5 a PDF; 13.x the JSON file), and offers client_max_window_bits=8 where zlib
 * allows 9; these send a few generated messages back to back. Echoes must be byte-exact and in
 * order; the server's answers must be compressed; the server must survive everything.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import WebSocket, { type PerMessageDeflateOptions } from "ws";
import { closeBody, frame, OP } from "../../helpers/frames.js";
import { RawClient } from "../../helpers/raw-client.js";
import { type EchoTarget, startCliEcho } from "./harness.js";

const TAIL = Buffer.from([0, 0, 0xff, 0xff]);
const SYNC = { finishFlush: constants.Z_SYNC_FLUSH };
/** One message compressed the way RFC 7692 7.2.1 says: sync flush, then drop 00 00 ff ff. */
function compress(msg: Buffer, windowBits = 15): Buffer {
  const z = deflateRawSync(msg, { windowBits, finishFlush: constants.Z_SYNC_FLUSH });
  assert.ok(z.subarray(-4).equals(TAIL));
  return z.subarray(0, z.length - 4);
}
const SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072];
const countFor = (size: number) => (size <= 4096 ? 50 : size <= 32768 ? 10 : 4);

/** Chat-like varied text: compressible but not trivially (like Autobahn's payload file). */
function textPayload(size: number, seed: number): string {
  const words = ["wire", "cable", "frame", "deflate", "µ-ü", "κόσμε", "42", '{"id":', "},", "\n"];
  let s = "";
  let x = seed * 2654435761;
  while (s.length < size) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += words[x % words.length] + (x & 1 ? " " : "");
  }
  return s.slice(0, size);
}
function binaryPayload(size: number, seed: number, random: boolean): Buffer {
  if (random) return randomBytes(size);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = ((i * 7 + seed) % 23) * 11;
  return b;
}

let echo: EchoTarget;
before(async () => {
  echo = await startCliEcho(true);
});
after(async () => {
  await echo?.stop();
});

interface RunResult {
  extensions: string;
  wireBytes: number;
  payloadBytes: number;
}

/** Open a ws client with `pmd`, send the messages, check every echo, close 1000. */
async function run(pmd: PerMessageDeflateOptions, messages: Array<string | Buffer>): Promise<RunResult> {
  const ws = new WebSocket(`ws://127.0.0.1:${echo.port}/`, { perMessageDeflate: { threshold: 0, ...pmd } });
  let extensions = "";
  ws.once("upgrade", (res) => {
    extensions = String(res.headers["sec-websocket-extensions"] ?? "");
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const received: Array<{ data: Buffer; isBinary: boolean }> = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${received.length}/${messages.length} echoes`)), 15000);
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        received.push({ data, isBinary });
        if (received.length === messages.length) {
          clearTimeout(timer);
          resolve();
        }
      });
      ws.once("close", (code) => {
        clearTimeout(timer);
        reject(new Error(`closed ${code} after ${received.length}/${messages.length} echoes`));
      });
    });
    for (const m of messages) ws.send(m, { binary: typeof m !== "string", compress: true });
    await done;
    let payloadBytes = 0;
    messages.forEach((m, i) => {
      const want = typeof m === "string" ? Buffer.from(m) : m;
      payloadBytes += want.length;
      assert.equal(received[i].isBinary, typeof m !== "string", `message ${i + 1}: type`);
      assert.ok(received[i].data.equals(want), `message ${i + 1}: echo differs (${want.length} octets)`);
    });
    const wireBytes = (ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
    const closed = new Promise<number>((r) => ws.once("close", (code: number) => r(code)));
    ws.close(1000);
    assert.equal(await closed, 1000);
    echo.assertAlive();
    return { extensions, wireBytes, payloadBytes };
  } finally {
    ws.terminate();
  }
}

describe("Autobahn 12: permessage-deflate, default offer, 12.x message sizes", { timeout: 90_000 }, () => {
  SIZES.forEach((size, i) => {
    it(`12.1.${i + 1} (reduced): ${countFor(size)} text messages of ${size} octets`, async () => {
      const msgs = Array.from({ length: countFor(size) }, (_, k) => textPayload(size, k));
      const r = await run({}, msgs);
      assert.match(r.extensions, /^permessage-deflate/);
      if (size >= 1024) assert.ok(r.wireBytes < r.payloadBytes * 0.8, `echoes not compressed: ${r.wireBytes} octets`);
    });
  });
  SIZES.forEach((size, i) => {
    it(`12.2.${i + 1} (reduced): ${countFor(size)} binary messages of ${size} octets`, async () => {
      const msgs = Array.from({ length: countFor(size) }, (_, k) => binaryPayload(size, k, false));
      await run({}, msgs);
    });
  });
  [16, 1024, 65536, 131072].forEach((size) => {
    const i = SIZES.indexOf(size) + 1;
    it(`12.5.${i} (reduced): ${countFor(size)} random (incompressible) binary messages of ${size} octets`, async () => {
      await run(
        {},
        Array.from({ length: countFor(size) }, (_, k) => binaryPayload(size, k, true)),
      );
    });
  });
});

describe("Autobahn 13: permessage-deflate offer parameters", { timeout: 90_000 }, () => {
  const configs: Array<[string, string, PerMessageDeflateOptions]> = [
    ["13.1", "default offer (client_max_window_bits)", {}],
    ["13.2", "client_no_context_takeover", { clientNoContextTakeover: true }],
    ["13.3", "client_max_window_bits=9", { clientMaxWindowBits: 9 }],
    ["13.4", "client_max_window_bits=15", { clientMaxWindowBits: 15 }],
    [
      "13.5",
      "client_no_context_takeover; client_max_window_bits=9",
      { clientNoContextTakeover: true, clientMaxWindowBits: 9 },
    ],
    [
      "13.6",
      "client_no_context_takeover; client_max_window_bits=15",
      { clientNoContextTakeover: true, clientMaxWindowBits: 15 },
    ],
    ["13.x", "server_no_context_takeover", { serverNoContextTakeover: true }],
    ["13.x", "server_max_window_bits=9", { serverMaxWindowBits: 9 }],
  ];
  /** The response must accept the offer as RFC 7692 7.1 allows (ws checks it too). */
  function checkAccepted(pmd: PerMessageDeflateOptions, header: string): void {
    assert.match(header, /^permessage-deflate(;|$)/, `accepted: "${header}"`);
    assert.ok(!header.includes(","), `one extension accepted, got "${header}"`);
    if (pmd.serverNoContextTakeover) assert.match(header, /server_no_context_takeover/);
    const serverBits = /server_max_window_bits=(\d+)/.exec(header)?.[1];
    if (typeof pmd.serverMaxWindowBits === "number") {
      assert.ok(serverBits && Number(serverBits) <= pmd.serverMaxWindowBits, `server_max_window_bits in "${header}"`);
    }
    const clientBits = /client_max_window_bits=(\d+)/.exec(header)?.[1];
    if (clientBits && typeof pmd.clientMaxWindowBits === "number") {
      assert.ok(Number(clientBits) <= pmd.clientMaxWindowBits, `client_max_window_bits in "${header}"`);
    }
  }
  const sizes = [16, 1024, 131072];
  configs.forEach(([section, what, pmd], c) => {
    sizes.forEach((size, s) => {
      const id = section === "13.x" ? `13.x-extra.${c - 5}.${s + 1}` : `${section}.${[1, 4, 10][s]}`;
      it(`${id} (reduced): ${what}, ${countFor(size)} text messages of ${size} octets`, async () => {
        const msgs = Array.from({ length: countFor(size) }, (_, k) => textPayload(size, k + c));
        const r = await run(pmd, msgs);
        checkAccepted(pmd, r.extensions);
      });
    });
  });

  it("13.7.x (reduced): several offers in one header: the server accepts one it supports, and compresses with it", async () => {
    const offer =
      "permessage-deflate; client_no_context_takeover; client_max_window_bits=9, " +
      "permessage-deflate; client_max_window_bits, permessage-deflate";
    const c = await RawClient.connect(echo.port, { headers: { "Sec-WebSocket-Extensions": offer } });
    try {
      const accepted = /^sec-websocket-extensions:\s*(.+)$/im.exec(c.response)?.[1]?.trim() ?? "";
      assert.match(accepted, /^permessage-deflate/);
      assert.ok(!accepted.includes(","), `one extension accepted, got "${accepted}"`);
      // Our side compresses each message with a fresh raw deflate (always allowed), with the
      // window the server granted us.
      const windowBits = Number(/client_max_window_bits=(\d+)/.exec(accepted)?.[1] ?? 15);
      const sent: Buffer[] = [];
      const echoed: Buffer[] = [];
      for (let k = 0; k < 3; k++) {
        const msg = Buffer.from(textPayload(2000, k));
        sent.push(msg);
        await c.send(frame(OP.TEXT, compress(msg, windowBits), { rsv: 4, mask: "random" }));
        const e = await c.next();
        assert.ok(e && e.kind === "text", "an echo");
        assert.equal(e.rsv, 4, "the echo is compressed (RSV1)");
        echoed.push(e.data, TAIL);
      }
      // Each compressed echo ends at a sync flush, so with or without context takeover their
      // concatenation inflates as one stream to the concatenated messages.
      assert.ok(inflateRawSync(Buffer.concat(echoed), SYNC).equals(Buffer.concat(sent)), "echoes differ");
      await c.send(frame(OP.CLOSE, closeBody(1000), { mask: "random" }));
      const close = await c.next();
      assert.equal(close?.kind, "close");
      assert.ok(await c.waitTcpClose());
    } finally {
      c.destroy();
    }
    echo.assertAlive();
  });
  it("not an Autobahn case: a compressed message split into 3 frames (RSV1 on the first only) is echoed", async () => {
    const c = await RawClient.connect(echo.port, {
      headers: { "Sec-WebSocket-Extensions": "permessage-deflate; client_no_context_takeover" },
    });
    try {
      assert.match(c.response, /permessage-deflate/i);
      const msg = Buffer.from(textPayload(5000, 9));
      const body = compress(msg);
      const third = Math.ceil(body.length / 3);
      await c.send([
        frame(OP.TEXT, body.subarray(0, third), { rsv: 4, fin: false, mask: "random" }),
        frame(OP.CONT, body.subarray(third, 2 * third), { fin: false, mask: "random" }),
        frame(OP.CONT, body.subarray(2 * third), { mask: "random" }),
      ]);
      const echoed = await c.next();
      assert.ok(echoed && echoed.kind === "text");
      const plain = echoed.rsv === 4 ? inflateRawSync(Buffer.concat([echoed.data, TAIL]), SYNC) : echoed.data;
      assert.ok(plain.equals(msg), "echo differs");
      await c.send(frame(OP.CLOSE, closeBody(1000), { mask: "random" }));
      assert.equal((await c.next())?.kind, "close");
    } finally {
      c.destroy();
    }
    echo.assertAlive();
  });
});
