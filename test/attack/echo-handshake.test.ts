/**
 * Attacks on `wirecable echo` around the opening handshake and on its connections' lifetime:
 * malformed and oversized heads, slow heads, many connections, peers that never read or never
 * answer a close. Each asserts what the attacker receives, resources back near the baseline,
 * and a healthy client's round trips meanwhile.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  cframe,
  closeFrame,
  type HealthyClient,
  HostilePeer,
  KiB,
  MiB,
  many,
  type ProcStats,
  sleep,
  startTarget,
  stopTargets,
  type Target,
  UNIT,
  upgradeRequest,
} from "./harness.js";

let target: Target;
let base: ProcStats;
let healthy: HealthyClient;

before(async () => {
  target = await startTarget("echo");
  base = await target.baseline();
  healthy = await target.healthy();
});
after(stopTargets);

async function statusOf(request: string | Buffer): Promise<number> {
  const peer = await HostilePeer.upgrade(target, { request });
  peer.destroy();
  return peer.status;
}

describe("attacks on echo: the handshake", { timeout: 300_000 }, () => {
  it("a bare CR, noise, a TLS hello, HTTP/2.0: answered at once (400, 505), not held until the timeout", async () => {
    const cases: Array<[string | Buffer, number]> = [
      ["GET / HTTP/1.1\rHost: x\rUpgrade: websocket\r\r", 400],
      ["GET / HTTP/1.1\r\nHost: x\rConnection: Upgrade\r\n", 400],
      ["\x01\x02\x03 noise without a line end", 400],
      [Buffer.from("160301020001000200", "hex"), 400], // the start of a TLS ClientHello
      ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505], // the HTTP/2 connection preface
      [upgradeRequest(target).replace("HTTP/1.1", "HTTP/2.0"), 505],
    ];
    for (const [request, status] of cases)
      assert.equal(await statusOf(request), status, JSON.stringify(String(request)));
    await target.settle(base);
    (await healthy.report()).assertHealthy();
  });

  it("1 MB of headers and 20,000 header lines: 431", async () => {
    const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(MiB)}\r\n\r\n`;
    assert.equal(await statusOf(big), 431);
    let many20k = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (let i = 0; i < 20_000; i++) many20k += `X-${i}: v\r\n`;
    assert.equal(await statusOf(`${many20k}\r\n`), 431);
    assert.equal(await statusOf(`GET /${"a".repeat(10 * KiB)} HTTP/1.1\r\n\r\n`), 414);
    await target.settle(base);
    (await healthy.report()).assertHealthy();
  });

  it("adversarial header values (8 KiB of separators, quotes, parameters): answered, 200 of them within bounded CPU", async () => {
    const fillers = [" ,", ';a=""', '"\\', ", ,", "=;", "\t", "permessage-deflate;"];
    const cpu = target.stats().cpu;
    let answered = 0;
    for (const filler of fillers) {
      const value = filler.repeat(Math.ceil((7 * KiB) / filler.length)).slice(0, 7 * KiB);
      for (const header of ["Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol", "Connection", "Upgrade"]) {
        for (let i = 0; i < 7; i++) {
          const request = upgradeRequest(target, { headers: { [header]: value } });
          const status = await statusOf(request);
          assert.ok(status === 101 || (status >= 400 && status < 500), `${header}: ${status}`);
          answered++;
        }
      }
    }
    assert.equal(answered, 196);
    // Linear parsing: about 1.6 MB of header values cost well under a second of server CPU
    // (quadratic parsing of one 7 KiB value alone would take seconds).
    assert.ok(target.stats().cpu - cpu < 5, `server CPU ${target.stats().cpu - cpu} s for 196 adversarial handshakes`);
    await target.settle(base);
    (await healthy.report()).assertHealthy();
  });

  it("2,000 connections held open at once, then closed: all upgraded, fds back", async () => {
    const peers = await many(2000, () => HostilePeer.upgrade(target));
    assert.ok(peers.every((p) => p.status === 101));
    const held = target.stats();
    assert.ok(held.fds >= base.fds + 2000, `server fds ${held.fds}`);
    // A few KB each, not more (RSS counts the sockets' kernel-side memory only partly).
    assert.ok(held.rss - base.rss < 2000 * 50 * KiB, `RSS +${((held.rss - base.rss) / MiB).toFixed(1)} MB`);
    (await healthy.report()).assertHealthy();
    for (const p of peers) p.send(closeFrame(1000));
    await Promise.all(peers.map((p) => p.closedPromise));
    await target.settle(base);
  });

  it("slow peers: 200 heads trickled byte by byte get 408 at the handshake timeout; 200 failed peers that never answer the close are cut once quiet; 200 trickling frames cost little", async () => {
    // All at the same time: the handshake timeout is 10 s.
    const slowHeads = await many(200, () => HostilePeer.connect(target));
    const head = upgradeRequest(target);
    let sent = 0;
    const trickle = setInterval(() => {
      // One byte of each head every 200 ms: the head is never complete within 10 s.
      if (sent < head.length - 3) for (const p of slowHeads) p.send(head[sent]!);
      sent++;
    }, 200);
    const silent = await many(200, () => HostilePeer.upgrade(target));
    for (const p of silent) p.send(cframe(0x1, Buffer.from([0xff]))); // invalid UTF-8: the server fails it (1007)
    const trickling = await many(200, () => HostilePeer.upgrade(target));
    const frame = cframe(0x1, "x".repeat(100));
    let at = 0;
    const trickleFrames = setInterval(() => {
      // One byte every 50 ms: a frame in about 5 s.
      if (at < frame.length) for (const p of trickling) p.send(frame.subarray(at, at + 1));
      at++;
    }, 50);
    try {
      (await healthy.report(20)).assertHealthy();
      const during = target.stats();
      assert.ok(during.rss - base.rss < 64 * MiB, `RSS +${((during.rss - base.rss) / MiB).toFixed(1)} MB during`);
      // The failed peers never answer the close: the server destroys each socket once its close
      // frame and FIN are out and the peer is quiet (250 ms; the close timeout is 10 s).
      await Promise.all(silent.map((p) => p.until(() => p.ended, 300 * UNIT)));
      assert.deepEqual([...new Set(silent.map((p) => p.closeCode))], [1007]);
      // The heads: 408 (the handshake timeout, 10 s).
      await Promise.all(slowHeads.map((p) => p.until(() => p.status !== 0 || p.ended, 300 * UNIT)));
      assert.deepEqual([...new Set(slowHeads.map((p) => p.status))], [408]);
      // The trickled frames were complete messages in the end: echoed.
      await Promise.all(trickling.map((p) => p.until(() => p.messages === 1, 300 * UNIT)));
    } finally {
      clearInterval(trickle);
      clearInterval(trickleFrames);
      for (const p of [...slowHeads, ...silent, ...trickling]) p.destroy();
    }
    await target.settle(base);
    (await healthy.report()).assertHealthy();
  });

  it("a peer that never reads: buffering stops at 16 MiB and the connection is closed with 1008", async () => {
    const peer = await HostilePeer.upgrade(target, { noRead: true, keepData: false });
    const message = cframe(0x2, Buffer.alloc(64 * KiB, 1));
    let written = 0;
    // Write until the server stops reading from us (its close) or 256 MiB went out.
    while (written < 256 * MiB && !peer.socket.destroyed) {
      if (!peer.socket.write(message)) {
        const drained = await Promise.race([
          new Promise<boolean>((r) => peer.socket.once("drain", () => r(true))),
          sleep(2000).then(() => false),
        ]);
        if (!drained) break; // the server no longer reads: it failed the connection
      }
      written += message.length;
    }
    const held = target.stats();
    assert.ok(
      held.rss - base.rss < 96 * MiB,
      `RSS +${((held.rss - base.rss) / MiB).toFixed(1)} MB after ${written / MiB} MiB`,
    );
    peer.socket.resume();
    assert.equal(await peer.closed(), 1008);
    assert.match(peer.closeReason, /buffer/);
    peer.destroy();
    await target.settle(base);
    (await healthy.report()).assertHealthy();
  });
});
