// The commands of examples/README.md work: each server, run as a script with port 0, prints
// where it listens, answers a WebSocket client, and stops on SIGINT; the client scripts print
// what they received.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import WS from "ws";
import { start as startAcks } from "../../examples/acks/server.js";
import { start as startEcho } from "../../examples/echo/server.js";
import { start as startFile } from "../../examples/large-file/server.js";
import { spawnTied } from "../helpers/tied-process.js";

const root = join(import.meta.dirname, "..", "..");
const children = new Set<ChildProcess>();
const dir = mkdtempSync(join(tmpdir(), "wirecable-examples-"));
writeFileSync(join(dir, "file.bin"), Buffer.alloc(100_000, 7));
after(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

async function runServer(args: string[], path = "", headers: Record<string, string> = {}): Promise<void> {
  const child = spawnTied(process.execPath, ["--import", "tsx", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const m = out.match(/(ws|http):\/\/127\.0\.0\.1:\d+\/?/);
      if (m) resolve(m[0].replace(/^http/, "ws").replace(/\/$/, ""));
    });
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`no URL printed: ${out} ${err}`)), 20_000).unref();
  });
  const ws = new WS(`${url}${path}`, { headers });
  await once(ws, "open");
  ws.close();
  await once(ws, "close");
  const exited = once(child, "exit");
  child.kill("SIGINT");
  const [code] = await exited;
  children.delete(child);
  assert.equal(code, 0, err);
}

/** Run a client script against an in-process server; resolves with its stdout. */
async function runClient(args: string[]): Promise<string> {
  const child = spawnTied(process.execPath, ["--import", "tsx", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [code] = await once(child, "exit");
  clearTimeout(timer);
  children.delete(child);
  assert.equal(code, 0, err);
  return out;
}

describe("example client commands", { concurrency: 2, timeout: 60_000 }, () => {
  it("echo client", async () => {
    const wss = await startEcho(0);
    try {
      const out = await runClient(["examples/echo/client.ts", wss.url!]);
      assert.equal(out, "text: hello, echo\nbinary: deadbeef\n");
    } finally {
      await wss.close();
    }
  });
  it("acks client", async () => {
    // The 3rd and 6th arrivals are lost (first attempts): with "every third" a busy machine that
    // resends all six in order would lose the same two messages on every retry.
    const wss = await startAcks({ port: 0, lose: (n) => n === 3 || n === 6 });
    try {
      assert.equal(await runClient(["examples/acks/client.ts", wss.url!, "6"]), "6 acknowledged, 0 failed\n");
    } finally {
      await wss.close();
    }
  });
  it("large-file client", async () => {
    const wss = await startFile(join(dir, "file.bin"), 0);
    try {
      const out = await runClient(["examples/large-file/client.ts", wss.url!, join(dir, "copy.bin")]);
      assert.equal(out, "file.bin: 100000 bytes, checksum OK\n");
    } finally {
      await wss.close();
    }
  });
});

describe("example commands", { concurrency: 2, timeout: 60_000 }, () => {
  it("echo", () => runServer(["examples/echo/server.ts", "0"]));
  it("chat-room", () => runServer(["examples/chat-room/server.ts", "0"]));
  it("backpressure", () => runServer(["examples/backpressure/server.ts", "0"]));
  it("large-file", () => runServer(["examples/large-file/server.ts", join(dir, "file.bin"), "0"]));
  it("heartbeats", () => runServer(["examples/heartbeats/server.ts", "0"]));
  it("secure-server", () =>
    runServer(["examples/secure-server/server.ts", "0"], "/?token=alice-token", { origin: "http://localhost:3000" }));
  it("express", () => runServer(["examples/express/server.ts", "0"], "/ws"));
  it("acks", () => runServer(["examples/acks/server.ts", "0"]));
});
