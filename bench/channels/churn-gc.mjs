#!/usr/bin/env node
// What a CableServer's garbage collector keeps per ActionCable connection. One server process
// (node --expose-gc --trace-gc-nvp, this file with --serve) and ws clients in this process.
//   burst: N connections (C at a time) each connect, get their welcome and close; the server's
//          scavenges over the burst are summed (--trace-gc-nvp) and divided by N: bytes that
//          survive a scavenge / get promoted per connection (what stays reachable from old
//          garbage, e.g. a churned Set's obsolete tables, shows here).
//   idle:  N connections connect, get their welcome and stay; the server's heapUsed after a full
//          GC, before and with them, divided by N (live bytes per welcomed connection).
// Usage: node bench/channels/churn-gc.mjs [--count N] [--concurrency C] [--deflate] [--mode burst|idle|both]
//   WIRECABLE_DIST=/tmp/b/dist picks another build (default: this checkout's dist/).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { gcRecords } from "../lib/server-process.mjs";

const { values } = parseArgs({
  options: {
    serve: { type: "boolean", default: false },
    count: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "50" },
    mode: { type: "string", default: "both" },
    deflate: { type: "boolean", default: false },
  },
});

if (values.serve) {
  const dist = process.env.WIRECABLE_DIST
    ? new URL(`file://${process.env.WIRECABLE_DIST}/channels/index.js`)
    : new URL("../../dist/channels/index.js", import.meta.url);
  const { CableServer, Channel } = await import(dist.href);
  const cable = new CableServer({
    host: "127.0.0.1",
    port: 0,
    channels: { BenchChannel: class extends Channel {} },
    pingInterval: 0,
    websocket: {
      pingInterval: 0,
      idleTimeout: 0,
      // --deflate: a compressor per connection (context takeover), every message compressed.
      perMessageDeflate: values.deflate ? { threshold: 0, preset: "dedicated" } : false,
    },
  });
  await cable.ready;
  process.stdout.write(`LISTENING ${cable.address().port}\n`);
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (s) => {
    for (const cmd of s.split("\n")) {
      if (cmd === "mark") process.stdout.write("MARK\n");
      if (cmd === "heap") {
        globalThis.gc();
        globalThis.gc();
        process.stdout.write(`HEAP ${process.memoryUsage().heapUsed} ${cable.connections.size}\n`);
      }
    }
  });
  process.stdin.on("end", () => process.exit(0));
} else {
  const { WebSocket } = await import("ws");
  const count = Number(values.count);
  const concurrency = Number(values.concurrency);
  const child = spawn(
    process.execPath,
    [
      "--expose-gc",
      "--trace-gc-nvp",
      new URL(import.meta.url).pathname,
      "--serve",
      ...(values.deflate ? ["--deflate"] : []),
    ],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  let out = "";
  const waiters = [];
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  const line = (re) =>
    new Promise((resolve) => {
      const from = out.length;
      const check = () => {
        const m = re.exec(out.slice(from));
        if (m) resolve(m);
        else waiters.push(check);
      };
      check();
    });
  const port = Number((await line(/LISTENING (\d+)/))[1]);
  const url = `ws://127.0.0.1:${port}/cable`;
  const opts = values.deflate ? {} : { perMessageDeflate: false };

  /** Open one connection, resolve with it once welcomed. */
  const open = () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ["actioncable-v1-json"], opts);
      ws.on("message", (data) => {
        if (String(data).includes('"welcome"')) resolve(ws);
      });
      ws.on("error", reject);
    });
  const closed = (ws) =>
    new Promise((resolve) => {
      ws.on("close", resolve);
      ws.close();
    });
  async function run(n, each) {
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        await each();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  }
  const heap = async () => {
    const p = line(/HEAP (\d+) (\d+)/);
    child.stdin.write("heap\n");
    const m = await p;
    return { used: Number(m[1]), conns: Number(m[2]) };
  };
  const label = process.env.WIRECABLE_DIST ?? "dist";
  /** utime + stime of the server (ticks of 10 ms). */
  const cpu = (pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1].split(" ");
    return Number(f[11]) + Number(f[12]);
  };

  // Warm up (JIT, pools) with a short burst not counted.
  await run(Math.min(500, count), async () => closed(await open()));

  if (values.mode !== "idle") {
    await heap();
    let p = line(/MARK/);
    child.stdin.write("mark\n");
    await p;
    const from = out.length;
    const s0 = cpu(child.pid);
    await run(count, async () => closed(await open()));
    const ticks = cpu(child.pid) - s0;
    p = line(/MARK/);
    child.stdin.write("mark\n");
    await p;
    const sum = { allocated: 0, survived: 0, promoted: 0, scavenges: 0, full: 0 };
    for (const v of gcRecords(out.slice(from))) {
      sum.allocated += Number(v.allocated);
      if (v.gc === "s") {
        sum.scavenges++;
        sum.survived += Number(v.new_space_survived);
        sum.promoted += Number(v.promoted);
      } else sum.full++;
    }
    const per = (b) => (b / count).toFixed(0);
    console.log(
      `${label} burst ${count}: per connection allocated ${per(sum.allocated)} B, survived ${per(sum.survived)} B, ` +
        `promoted ${per(sum.promoted)} B (${sum.scavenges} scavenges, ${sum.full} full GCs); ` +
        `server CPU ${((ticks * 1e4) / count).toFixed(0)} us/conn`,
    );
  }
  if (values.mode !== "burst") {
    const before = await heap();
    const kept = [];
    await run(count, async () => {
      kept.push(await open());
    });
    const during = await heap();
    console.log(
      `${label} idle ${during.conns} welcomed: live ${((during.used - before.used) / count).toFixed(0)} B/conn ` +
        `(heapUsed ${(before.used / 1e6).toFixed(1)} -> ${(during.used / 1e6).toFixed(1)} MB)`,
    );
    await Promise.all(kept.map(closed));
  }
  child.stdin.end();
  process.exit(0);
}
