// examples/channels-redis: two cable server processes share one Redis; a post from a client of
// one reaches the subscribers of both, and so does a broadcast from a third process without
// sockets (broadcast.ts).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, it } from "node:test";
import WS from "ws";
import { joinRoom } from "../../examples/channels-redis/client.js";
import type { WebSocketConstructorLike } from "../../src/client/index.js";
import { type RedisProcess, startRedis } from "../helpers/redis.js";
import { spawnTied } from "../helpers/tied-process.js";
import { sleep } from "../helpers/time.js";

const root = join(import.meta.dirname, "..", "..");
const children: ChildProcess[] = [];
const leaves: Array<() => void> = [];
let redis: RedisProcess | undefined;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const leave of leaves) leave();
  for (const child of children) child.kill("SIGKILL");
  await redis?.stop();
});

function run(args: string[]): { child: ChildProcess; line: Promise<string>; exit: Promise<number | null> } {
  // node --import tsx (not the tsx binary, which runs node as a grandchild a kill would orphan).
  const child = spawnTied(process.execPath, ["--import", "tsx", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const line = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl !== -1) resolve(out.slice(0, nl));
    });
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`no output: ${err}`)), 20_000).unref();
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, line, exit };
}

// The example client defaults to wirecable's WebSocket; one of the two uses ws's, to show any
// WHATWG WebSocket works.
const WebSocket = WS as unknown as WebSocketConstructorLike;

it("shares rooms between two servers through Redis", { timeout: 60_000 }, async () => {
  const server = join(root, "examples", "channels-redis", "server.ts");
  const one = run([server, "--port", "0", "--redis", redis!.url]);
  const two = run([server, "--port", "0", "--redis", redis!.url]);
  const [url1, url2] = await Promise.all([one.line, two.line]);
  assert.match(url1, /^ws:\/\/127\.0\.0\.1:\d+\/cable$/);
  assert.notEqual(url1, url2);

  const got1: string[] = [];
  const got2: string[] = [];
  const a = joinRoom(url1, "lobby", (m) => got1.push(m.text), WebSocket);
  const b = joinRoom(url2, "lobby", (m) => got2.push(m.text));
  leaves.push(a.leave, b.leave);
  await Promise.all([a.connected, b.connected]);

  a.subscription.perform("post", { text: "from a client of server one" });
  const until = async (pred: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify({ got1, got2 })}`);
      await sleep(10);
    }
  };
  await until(() => got2.includes("from a client of server one") && got1.includes("from a client of server one"));

  const script = run([join(root, "examples", "channels-redis", "broadcast.ts"), "lobby", "from a script", redis!.url]);
  assert.equal(await script.exit, 0);
  await until(() => got1.includes("from a script") && got2.includes("from a script"));
  assert.deepEqual(got1, got2);
});
