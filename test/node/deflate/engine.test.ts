/**
 * permessage-deflate through the RFC 6455 engine: the RFC 7692 7.2.3.1 frame byte-exact, RSV1
 * on the first frame of a fragmented compressed message only, fragmented compressed input, the
 * bomb closing with 1009, order of many async messages mixed with uncompressed ones, and
 * interop at the engine level with ws's own PerMessageDeflate class.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import type { ExtensionSession } from "../../../src/protocol/extensions/extension.js";
import type { EngineEvent, EngineOptions } from "../../../src/protocol/types.js";
import { concat, fromHex, hex } from "../../helpers/bytes.js";
import { sleep, until } from "../../helpers/time.js";
import { type TestEngine, testEngine } from "../../protocol/helpers/engine-run.js";
import { type SessionPair, sessionPair } from "./helpers.js";

const require = createRequire(import.meta.url);

interface Side {
  engine: TestEngine;
  output: Uint8Array[];
  events: EngineEvent[];
}

function side(role: "server" | "client", sessions: ExtensionSession[], extra: Partial<EngineOptions> = {}): Side {
  const output: Uint8Array[] = [];
  const events: EngineEvent[] = [];
  const engine = testEngine({
    role,
    extensions: sessions,
    extensionsHeader: "permessage-deflate",
    randomFill: (b) => b.fill(0), // zero mask: client frames stay readable in assertions
    onOutput: (c) => output.push(new Uint8Array(c)),
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { engine, output, events };
}

const messages = (events: EngineEvent[]) =>
  events.filter((e) => e.type === "text" || e.type === "binary") as Array<
    Extract<EngineEvent, { type: "text" | "binary" }>
  >;

function withPair<T>(pair: SessionPair, fn: (p: SessionPair) => Promise<T>): Promise<T> {
  return fn(pair).finally(() => pair.close());
}

describe("permessage-deflate in the engine", () => {
  it('RFC 7692 7.2.3.1/7.2.3.2: "Hello" goes out as c1 07 f2 48 cd c9 c9 07 00, then c1 05 f2 00 11 00 00', () =>
    withPair(sessionPair({ preset: "dedicated", threshold: 0 }), async (p) => {
      const s = side("server", [p.server]);
      s.engine.sendText("Hello");
      s.engine.sendText("Hello");
      await until(() => s.output.length >= 2, "two frames");
      assert.equal(hex(concat(s.output)), "c107f248cdc9c90700" + "c105f200110000");
    }));

  it("sets RSV1 on the first frame of a fragmented compressed message only", () =>
    withPair(sessionPair({ preset: "dedicated", threshold: 0 }), async (p) => {
      const s = side("server", [p.server], { fragmentSize: 3 });
      s.engine.sendText("Hello");
      await until(() => concat(s.output).length >= 13, "three frames");
      // 0x41: RSV1 + text, not FIN; 0x00: continuation without RSV1; 0x80: FIN continuation.
      assert.equal(hex(concat(s.output)), "4103f248cd" + "0003c9c907" + "800100");
    }));

  it("inflates a fragmented compressed message (RSV1 on the first frame only)", () =>
    withPair(sessionPair({ preset: "dedicated" }, { preset: "dedicated" }), async (p) => {
      const c = side("client", [p.client]);
      c.engine.receiveData(fromHex("4103f248cd0003c9c907800100"));
      await until(() => messages(c.events).length === 1, "a message");
      assert.equal(messages(c.events)[0]!.data, "Hello");
    }));

  it("fails a continuation frame with RSV1 set (RFC 7692 6.1: RSV1 only on the first frame)", () =>
    withPair(sessionPair({ preset: "dedicated" }, { preset: "dedicated" }), async (p) => {
      const c = side("client", [p.client]);
      c.engine.receiveData(fromHex("4103f248cd" + "4003c9c907" + "800100"));
      await until(() => c.events.some((e) => e.type === "close"), "close");
      const close = c.events.find((e) => e.type === "close") as Extract<EngineEvent, { type: "close" }>;
      assert.equal(messages(c.events).length, 0);
      assert.equal(close.code === 1002 || close.code === 1006, true, `code ${close.code}`);
    }));

  it("a compressed bomb closes with 1009 without inflating past maxPayload", () =>
    withPair(sessionPair({ preset: "dedicated" }, { preset: "dedicated" }), async (p) => {
      const segment = zlib.deflateRawSync(Buffer.alloc(1 << 20), {
        level: 9,
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
      const body = Buffer.concat(new Array<Buffer>(256).fill(segment)); // 256 MiB of zeros
      const header = Buffer.alloc(10);
      header[0] = 0xc2; // FIN + RSV1 + binary
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(body.length), 2);
      const c = side("client", [p.client], { maxPayload: 1 << 20 });
      c.engine.receiveData(new Uint8Array(Buffer.concat([header, body])));
      await until(() => c.events.some((e) => e.type === "close"), "close");
      const close = c.events.find((e) => e.type === "close") as Extract<EngineEvent, { type: "close" }>;
      // The engine sent a close frame with 1009: 88, length, a zero mask key, 03 f1, reason.
      const out = hex(concat(c.output));
      assert.equal(out.slice(0, 2), "88");
      assert.equal(out.slice(4, 16), "0000000003f1");
      const error = c.events.find((e) => e.type === "error") as Extract<EngineEvent, { type: "error" }>;
      assert.equal((error.error as { code?: string }).code, "MESSAGE_TOO_BIG");
      assert.ok(close);
      assert.equal(messages(c.events).length, 0);
    }));

  it("a connection ending while messages are being compressed releases zlib without stray errors", () =>
    withPair(sessionPair({ preset: "dedicated", threshold: 0 }), async (p) => {
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on("unhandledRejection", onUnhandled);
      try {
        const s = side("server", [p.server]);
        for (let i = 0; i < 20; i++) s.engine.sendText(`message ${i} `.repeat(2000));
        s.engine.receiveEof(); // the transport died: close at once, zlib work still queued
        await until(() => s.events.some((e) => e.type === "close"), "close");
        await sleep(100);
        const close = s.events.find((e) => e.type === "close") as Extract<EngineEvent, { type: "close" }>;
        assert.equal(close.code, 1006);
        assert.deepEqual(unhandled, []);
      } finally {
        process.off("unhandledRejection", onUnhandled);
      }
    }));

  it("keeps the order of many async messages, compressed and not, fragmented, both ways", () =>
    withPair(
      sessionPair({ preset: "dedicated", threshold: 100 }, { preset: "dedicated", threshold: 100 }),
      async (p) => {
        const s = side("server", [p.server], { fragmentSize: 700 });
        const c = side("client", [p.client], { fragmentSize: 500 });
        const sent: string[] = [];
        for (let i = 0; i < 300; i++) {
          const text = JSON.stringify({ i, pad: "x".repeat((i * 53) % 2000) });
          sent.push(text);
          s.engine.send(text, i % 4 === 0 ? { compress: false } : undefined);
          c.engine.send(text, i % 5 === 0 ? { compress: false } : undefined);
        }
        await until(() => s.output.length > 0 && c.output.length > 0, "output");
        // Pump until both sides received everything.
        const pump = () => {
          for (const chunk of s.output.splice(0)) c.engine.receiveData(chunk);
          for (const chunk of c.output.splice(0)) s.engine.receiveData(chunk);
        };
        await until(
          () => {
            pump();
            return messages(c.events).length === 300 && messages(s.events).length === 300;
          },
          `300 messages each way (got ${messages(c.events).length} / ${messages(s.events).length}, ${c.events.filter((e) => e.type === "error").map((e) => String((e as { error: Error }).error))} ${s.events.filter((e) => e.type === "error").map((e) => String((e as { error: Error }).error))})`,
        );
        assert.deepEqual(
          messages(c.events).map((e) => e.data),
          sent,
        );
        assert.deepEqual(
          messages(s.events).map((e) => e.data),
          sent,
        );
      },
    ));
});

describe("engine-level interop with ws's PerMessageDeflate", () => {
  // ws's class, used directly: node_modules/ws/lib/permessage-deflate.js
  const wsDir = dirname(require.resolve("ws/package.json"));
  const PerMessageDeflate = require(join(wsDir, "lib/permessage-deflate.js")) as new (
    options: Record<string, unknown>,
  ) => {
    offer(): Record<string, unknown>;
    accept(configurations: Array<Record<string, unknown[]>>): Record<string, unknown>;
    compress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void;
    decompress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void;
    cleanup(): void;
  };
  const wsToParams = (params: Record<string, unknown>): Record<string, string | true> =>
    Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v === true ? true : String(v)]));
  const toWsParams = (params: Record<string, string | true>) =>
    Object.fromEntries(Object.entries(params).map(([k, v]) => [k, [v]]));
  const compress = (ext: InstanceType<typeof PerMessageDeflate>, data: Buffer) =>
    new Promise<Buffer>((resolve, reject) => ext.compress(data, true, (e, out) => (e ? reject(e) : resolve(out!))));
  const decompress = (ext: InstanceType<typeof PerMessageDeflate>, data: Buffer) =>
    new Promise<Buffer>((resolve, reject) => ext.decompress(data, true, (e, out) => (e ? reject(e) : resolve(out!))));

  for (const preset of ["shared", "dedicated", "small"] as const) {
    it(`our server (${preset}) and a ws client exchange compressed messages both ways`, async () => {
      const { createServerDeflate } = await import("../../../src/node/deflate/index.js");
      const ours = createServerDeflate({ preset, threshold: 0 });
      const wsClient = new PerMessageDeflate({ isServer: false });
      const offer = wsClient.offer() as Record<string, string | true>;
      const offerParams = wsToParams(offer);
      const negotiated = ours.negotiate([
        { name: "permessage-deflate", params: offerParams, rawParams: Object.entries(offerParams) },
      ]);
      assert.ok(negotiated);
      wsClient.accept([toWsParams(negotiated.params)]);
      const s = side("server", [negotiated.session]);
      try {
        for (let i = 0; i < 20; i++) {
          const text = JSON.stringify({ i, items: Array.from({ length: 50 }, (_, k) => `item-${k}`) });
          // ours -> ws
          s.output.length = 0;
          s.engine.sendText(text);
          await until(() => s.output.length > 0, "frame");
          const frame = Buffer.from(concat(s.output));
          assert.equal(frame[0], 0xc1);
          const payload = frame.subarray(frame[1] === 126 ? 4 : 2);
          assert.equal((await decompress(wsClient, payload)).toString(), text);
          // ws -> ours (masked with a zero key)
          const compressed = await compress(wsClient, Buffer.from(text));
          const head =
            compressed.length < 126
              ? Buffer.from([0xc1, 0x80 | compressed.length, 0, 0, 0, 0])
              : Buffer.from([0xc1, 0x80 | 126, compressed.length >> 8, compressed.length & 0xff, 0, 0, 0, 0]);
          s.engine.receiveData(new Uint8Array(Buffer.concat([head, compressed])));
          await until(() => messages(s.events).length === i + 1, "message");
          assert.equal(messages(s.events)[i]!.data, text);
        }
      } finally {
        negotiated.session.close?.();
        wsClient.cleanup();
      }
    });
  }

  it("a ws server accepts our client's offer and both inflate each other", async () => {
    const { createClientDeflate } = await import("../../../src/node/deflate/index.js");
    const ours = createClientDeflate({ preset: "dedicated" });
    const wsServer = new PerMessageDeflate({ isServer: true });
    const [offer] = ours.offers();
    const response = wsServer.accept([toWsParams(offer!)]) as Record<string, string | number | true>;
    const params = wsToParams(response);
    const session = ours.accept({ name: "permessage-deflate", params, rawParams: Object.entries(params) });
    try {
      for (let i = 0; i < 10; i++) {
        const data = Buffer.from(`hello ${i} `.repeat(40));
        const fromWs = await compress(wsServer, data);
        const inflated = await session.processIncoming(
          { opcode: 2, rsv1: true, rsv2: false, rsv3: false, data: fromWs },
          0,
        );
        assert.deepEqual(Buffer.from(inflated.data), data);
        const out = await session.processOutgoing({ opcode: 2, rsv1: false, rsv2: false, rsv3: false, data });
        assert.equal(out.rsv1, true);
        assert.deepEqual(await decompress(wsServer, Buffer.from(out.data)), data);
      }
    } finally {
      session.close?.();
      wsServer.cleanup();
    }
  });
});
