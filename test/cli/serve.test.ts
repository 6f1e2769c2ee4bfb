// `wirecable serve` as a process: prints its URL, serves the page, /healthz and /metrics, logs
// JSON on stderr, shuts down gracefully on SIGTERM and SIGINT (clients get server_restart and
// 1001); `--workers 2` shares rooms, history, acks and presence through the primary (also when a
// worker is SIGKILLed); two processes share rooms through
// `--redis` and through `--broker` with Redis Cluster and NATS.
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import WS from "ws";
import type { ConsumerOptions } from "../../src/client/index.js";
import { startNats } from "../helpers/nats.js";
import { startRedis } from "../helpers/redis.js";
import { startRedisCluster } from "../helpers/redis-cluster.js";
import { type ChatClient, cableUrl, joinChat } from "./chat-client.js";
import { CLI_TEST_TIMEOUT, ensureBuilt, startCli, stopAll } from "./helpers.js";

const clients: ChatClient[] = [];
before(() => ensureBuilt());
after(() => {
  for (const c of clients) c.close();
  stopAll();
});

function join(url: string, room: string, name: string, origin?: string, options?: ConsumerOptions): ChatClient {
  const c = joinChat(url, room, name, origin, options);
  clients.push(c);
  return c;
}

const URL_LINE = /^(http:\/\/localhost:(\d+))$/m;

describe("wirecable serve (process)", { timeout: CLI_TEST_TIMEOUT }, () => {
  it("serves, then shuts down gracefully on SIGTERM", async () => {
    const serve = startCli(["serve", "--port", "0"]);
    const [, url] = await serve.waitFor(URL_LINE);
    assert.ok(url);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.match(await (await fetch(`${url}/`)).text(), /wirecable chat/);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^wirecable_connections 0$/m);
    // Node's default metrics under the one prefix: wirecable_process_*, wirecable_nodejs_*.
    assert.match(metrics, /^wirecable_process_cpu_user_seconds_total /m);
    assert.match(metrics, /^wirecable_nodejs_eventloop_lag_seconds /m);
    assert.doesNotMatch(metrics, /process_process_/);
    const log = JSON.parse(serve.stderr().split("\n")[0]!) as { msg: string; port: number };
    assert.equal(log.msg, "listening");

    const ws = new WS(cableUrl(url), ["actioncable-v1-json"]);
    const texts: string[] = [];
    ws.on("message", (d) => texts.push(String(d)));
    await once(ws, "open");
    const closed = once(ws, "close");
    serve.child.kill("SIGTERM");
    const [code] = await closed;
    assert.equal(code, 1001);
    assert.ok(texts.some((t) => t.includes('"reason":"server_restart"')));
    const exit = await serve.exited;
    assert.equal(exit.code, 0);
    assert.match(serve.stderr(), /"msg":"stopped"/);
  });

  it("stops on SIGINT too", async () => {
    const serve = startCli(["serve", "--port", "0", "--log-level", "silent"]);
    await serve.waitFor(URL_LINE);
    serve.child.kill("SIGINT");
    assert.equal((await serve.exited).code, 0);
    assert.equal(serve.stderr(), "");
  });

  it("--workers 2: rooms are shared between the workers through the primary", async () => {
    const serve = startCli(["serve", "--port", "0", "--workers", "2", "--log-level", "debug"]);
    const [, url] = await serve.waitFor(URL_LINE);
    // Connections are spread round-robin: with several clients, both workers have some.
    const people = ["ann", "ben", "cat", "dan"].map((n) => join(url!, "cluster", n));
    await Promise.all(people.map((p) => p.connected));
    for (const p of people) await p.waitFor((e) => e.type === "presence" && e.count === 4);
    const id = people[0]!.speak("to everyone");
    for (const p of people) await p.waitFor((e) => e.type === "message" && e.id === id);
    // Both workers served some of them (their "connected" debug lines)...
    const workers = new Set(
      serve
        .stderr()
        .split("\n")
        .filter((line) => line.includes('"msg":"connected"'))
        .map((line) => (JSON.parse(line) as { worker: number }).worker),
    );
    assert.equal(workers.size, 2, "connections on both workers");
    // ...and one /metrics scrape, whichever worker answers it, counts all of them (aggregated).
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^wirecable_connections_total 4$/m);
    assert.match(metrics, /^wirecable_connections 4$/m);
    assert.match(metrics, /^wirecable_process_cpu_user_seconds_total /m);
    assert.doesNotMatch(metrics, /process_process_|worker=/);
    for (const p of people) p.close();
    serve.child.kill("SIGTERM");
    assert.equal((await serve.exited).code, 0, serve.stderr());
  });

  it("--workers 2: history, acks and presence live in the primary; a killed worker's clients resume", async () => {
    const serve = startCli(["serve", "--port", "0", "--workers", "2"]);
    const [, url] = await serve.waitFor(URL_LINE);
    const people = ["ann", "ben", "cat", "dan"].map((n) => join(url!, "primary", n));
    await Promise.all(people.map((p) => p.connected));
    for (const p of people) await p.waitFor((e) => e.type === "presence" && e.count === 4, 15_000);
    const first = people[0]!.speak("before the kill");
    assert.equal(((await people[0]!.replies.get(first)) as { id: string }).id, first);
    for (const p of people) await p.waitFor((e) => e.type === "message" && e.id === first);

    // SIGKILL a worker serving some of them (its pid from the JSON logs, its clients from /healthz).
    const pids = new Map<string, number>();
    for (const line of serve.stderr().split("\n")) {
      const log = line.startsWith("{") ? (JSON.parse(line) as { worker?: number; pid: number }) : undefined;
      if (log?.worker !== undefined) pids.set(String(log.worker), log.pid);
    }
    let busy: string | undefined;
    for (let i = 0; i < 20 && busy === undefined; i++) {
      const health = (await (await fetch(`${url}/healthz`, { headers: { connection: "close" } })).json()) as {
        worker?: number;
        connections: number;
      };
      if (health.connections > 0 && pids.has(String(health.worker))) busy = String(health.worker);
    }
    assert.ok(busy !== undefined, `a worker with clients; logs named ${[...pids.keys()]}`);
    process.kill(pids.get(busy)!, "SIGKILL");
    // Its clients reconnect (to the other worker or the replacement) and resume from their
    // position: what is said meanwhile reaches everyone, and nothing twice.
    const second = people[3]!.speak("after the kill");
    for (const p of people) await p.waitFor((e) => e.type === "message" && e.id === second, 15_000);
    for (const p of people) {
      const said = p.events.filter((e) => e.type === "message").map((e) => e.id);
      assert.deepEqual(
        said.filter((id) => id === first || id === second),
        [first, second],
        "every message once, in order",
      );
    }
    // A newcomer gets the room's backlog from the primary's history and sees the four members;
    // once they go it is alone: the killed worker's sessions left with it (no stale members).
    const zed = join(url!, "primary", "zed");
    await zed.waitFor((e) => e.type === "message" && e.id === second, 15_000);
    assert.ok(zed.events.some((e) => e.type === "message" && e.id === first));
    await zed.waitFor((e) => e.type === "presence" && e.count === 5, 15_000);
    for (const p of people) p.close();
    await zed.waitFor((e) => e.type === "presence" && e.count === 1, 15_000);
    zed.close();
    serve.child.kill("SIGTERM");
    await serve.exited;
  });

  it("--workers 2: a fallback session's POSTs reach it from either worker", async () => {
    const serve = startCli(["serve", "--port", "0", "--workers", "2"]);
    const [, url] = await serve.waitFor(URL_LINE);
    // One TCP connection per request: node:cluster hands them to the workers in turn, so about
    // half of the session's POSTs land on the worker that does not own it (relayed through the
    // primary's broker). A POST that found no session there would end the session (404).
    let requests = 0;
    const oneShot: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), connection: "close" } });
    };
    const ann = join(url!, "relay", "ann", undefined, { transports: ["sse"], fallback: { fetch: oneShot } });
    const ben = join(url!, "relay", "ben");
    await Promise.all([ann.connected, ben.connected]);
    assert.equal(ann.consumer.client.transport, "sse");
    const ids: string[] = [];
    // 8: within the demo's burst of chat messages (10 per member).
    for (let i = 0; i < 8; i++) {
      const id = ann.speak(`over http ${i}`);
      ids.push(id);
      await ben.waitFor((e) => e.type === "message" && e.id === id);
    }
    const fromAnn = ben.events.filter((e) => e.type === "message" && ids.includes(String(e.id)));
    assert.deepEqual(
      fromAnn.map((e) => e.id),
      ids,
      "each once, in order",
    );
    assert.ok(requests >= 9, `${requests} requests: the open and at least one POST per message`);
    assert.equal(ann.connects(), 1, "the same session throughout");
    ann.close();
    ben.close();
    serve.child.kill("SIGTERM");
    assert.equal((await serve.exited).code, 0, serve.stderr());
  });
});

const SHARED: Array<[string, string, () => Promise<{ url: string; stop(): Promise<void> }>]> = [
  ["--redis", "redis", startRedis],
  ["--broker", "redis+cluster", () => startRedisCluster({ primaries: 3 })],
  ["--broker", "nats", startNats],
];

for (const [flag, kind, start] of SHARED) {
  describe(`wirecable serve ${flag} ${kind}:// (two processes)`, { timeout: CLI_TEST_TIMEOUT }, () => {
    let service: { url: string; stop(): Promise<void> } | undefined;
    before(async () => {
      service = await start();
    });
    after(async () => {
      await service?.stop();
    });

    it("shares rooms, messages and presence between two servers", async () => {
      const one = startCli(["serve", "--port", "0", flag, service!.url]);
      const two = startCli(["serve", "--port", "0", flag, service!.url]);
      const [[, url1], [, url2]] = await Promise.all([one.waitFor(URL_LINE), two.waitFor(URL_LINE)]);
      assert.notEqual(url1, url2);
      const a = join(url1!, "shared", "on-one");
      await a.connected;
      const b = join(url2!, "shared", "on-two");
      await b.connected;
      await b.waitFor((e) => e.type === "presence" && e.count === 2);
      await a.waitFor((e) => e.type === "presence" && e.count === 2);
      const id = a.speak("across processes");
      await b.waitFor((e) => e.type === "message" && e.id === id);
      const back = b.speak("and back");
      await a.waitFor((e) => e.type === "message" && e.id === back);
      // Server two stops: its member leaves the room as seen from server one.
      two.child.kill("SIGTERM");
      assert.equal((await two.exited).code, 0);
      await a.waitFor((e) => e.type === "presence" && (e.left as string[]).includes("on-two"));
      one.child.kill("SIGTERM");
      assert.equal((await one.exited).code, 0);
    });
  });
}
