/**
 * Interop with the Ruby reference implementations from Debian (scripts/setup-test-env.sh):
 * faye-websocket (server under puma, EventMachine client) and websocket-driver (the engine of
 * faye-websocket and Rails, used bare on plain sockets) as clients of our server and as servers
 * for our client and the `wirecable connect` CLI. Each side reports what it saw (the Ruby
 * scripts print JSON lines), so a close code is checked on both ends: the peer must record the
 * code we sent or echoed, not 1006 (a close reply never written).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Connection, connect, WebSocketServer } from "../../src/node/index.js";
import { ensureBuilt, runCli } from "../cli/helpers.js";
import { portOf } from "../helpers/raw-client.js";
import { FIXTURES, RUBY, RubyProcess, startPuma } from "../helpers/ruby.js";
import { event, UNIT, until, within } from "../helpers/time.js";

const T = 200 * UNIT;
const processes: RubyProcess[] = [];
const cleanups: Array<() => unknown> = [];
before(() => ensureBuilt());
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  await Promise.all(processes.map((p) => p.stop()));
});

/** Our echo server: "server-close" makes it close with 4005; records every close it sees. */
async function ourServer(): Promise<{ url: string; closes: Array<[number, string, boolean]> }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", protocols: ["chat"] });
  cleanups.push(() => wss.close({ timeout: 3 * UNIT }));
  const closes: Array<[number, string, boolean]> = [];
  wss.on("connection", (conn: Connection) => {
    conn.on("message", (data: string | Buffer, isBinary: boolean) => {
      if (!isBinary && String(data) === "server-close") conn.close(4005, "server closes");
      else conn.send(data, { binary: isBinary });
    });
    conn.on("close", (code: number, reason: string, wasClean: boolean) => closes.push([code, reason, wasClean]));
  });
  await wss.ready;
  return { url: `ws://127.0.0.1:${portOf(wss.address())}/`, closes };
}

function ruby(script: string, args: string[]): RubyProcess {
  const p = new RubyProcess(RUBY, [`${FIXTURES}${script}`, ...args]);
  processes.push(p);
  return p;
}

const clients = [
  ["faye-websocket", "faye-client.rb"],
  ["websocket-driver", "driver-client.rb"],
] as const;

for (const [name, script] of clients) {
  describe(`${name} (Ruby) client -> our server`, () => {
    it("subprotocol, text and binary echoes, ping; our server closes with 4005: both sides see 4005", async () => {
      const server = await ourServer();
      const client = ruby(script, [server.url, "0"]);
      assert.equal(await client.exit(T), 0, client.stderr);
      const who = name === "faye-websocket" ? "faye" : "driver";
      // The pong may arrive before or after the echoes.
      assert.deepEqual(
        client.events.find((e) => e.event === "pong"),
        { event: "pong", data: `${who}-ping` },
      );
      assert.deepEqual(
        client.events.filter((e) => e.event !== "pong" && e.event !== "tcp-closed"),
        [
          { event: "open", protocol: "chat" },
          { event: "text", data: `héllo from ${name === "faye-websocket" ? "faye" : "websocket-driver"}` },
          { event: "binary", length: 256 * 1024, ok: true },
          { event: "close", code: 4005, reason: "server closes" },
        ],
      );
      await until(() => server.closes.length > 0, "our server's close event", T);
      assert.deepEqual(server.closes, [[4005, "server closes", true]]); // the client echoes the reason
    });

    it("the Ruby client closes with 4001: our server sees 4001, clean; the client gets its echo", async () => {
      const server = await ourServer();
      const client = ruby(script, [server.url, "4001"]);
      assert.equal(await client.exit(T), 0, client.stderr);
      assert.deepEqual(
        client.events.find((e) => e.event === "close"),
        { event: "close", code: 4001, reason: "" },
      );
      // Our close event comes once TCP is closed, which may be just after the client exited.
      await until(() => server.closes.length > 0, "our server's close event", T);
      assert.deepEqual(server.closes, [[4001, name === "faye-websocket" ? "faye closes" : "driver closes", true]]);
    });
  });
}

/** A Ruby server: faye-websocket under puma, or websocket-driver on a TCPServer. */
async function rubyServer(kind: "faye-websocket" | "websocket-driver"): Promise<{ url: string; peer: RubyProcess }> {
  if (kind === "faye-websocket") {
    const { puma, port } = await startPuma(`${FIXTURES}faye-server.ru`);
    processes.push(puma);
    return { url: `ws://127.0.0.1:${port}/`, peer: puma };
  }
  const peer = ruby("driver-server.rb", []);
  const port = await peer.waitFor(() => peer.events.find((e) => "port" in e)?.port as number | undefined, T, "port");
  return { url: `ws://127.0.0.1:${port}/`, peer };
}

/** The close codes the Ruby server recorded, in order. */
const closesOf = (peer: RubyProcess) => peer.events.filter((e) => e.event === "close").map((e) => e.code);

for (const kind of ["faye-websocket", "websocket-driver"] as const) {
  describe(`our client -> ${kind} (Ruby) server`, () => {
    let server: { url: string; peer: RubyProcess };
    before(async () => {
      server = await rubyServer(kind);
    });

    it("subprotocol, echoes (text, binary, a streamed message), pings both ways; we close with 4001", async () => {
      const conn = await within(connect(server.url, { protocols: ["chat"] }), T);
      cleanups.push(() => conn.terminate());
      assert.equal(conn.protocol, "chat");
      for (const message of ["héllo", "ä".repeat(50_000)]) {
        const got = event<[string, boolean]>(conn, "message", T);
        conn.send(message);
        assert.deepEqual(await got, [message, false]);
      }
      const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
      let got = event<[Buffer, boolean]>(conn, "message", T);
      conn.send(bytes);
      let [data, isBinary] = await got;
      assert.equal(isBinary, true);
      assert.ok(data.equals(bytes));
      got = event<[Buffer, boolean]>(conn, "message", T);
      await conn.stream(
        (async function* () {
          for (let i = 0; i < 10; i++) yield bytes.subarray(i * 1000, (i + 1) * 1000);
        })(),
      );
      [data, isBinary] = await got;
      assert.ok(isBinary && data.equals(bytes.subarray(0, 10_000)), "streamed message echoed whole");
      await within(new Promise<void>((resolve) => conn.ping("ours", resolve)), T, "our ping's pong");
      // The server pings us and reports our pong.
      const pong = event<[string, boolean]>(conn, "message", T);
      conn.send("ping theirs");
      assert.deepEqual(await pong, ["pong theirs", false]);
      const before = closesOf(server.peer).length;
      conn.close(4001, "we close");
      assert.deepEqual(await within(conn.closed, T), { code: 4001, reason: "we close", wasClean: true }); // echoed
      await server.peer.waitFor(() => (closesOf(server.peer).length > before ? true : undefined), T, "close");
      assert.equal(closesOf(server.peer)[before], 4001);
    });

    it("the server closes with 4002: `closed` resolves after our reply was written; the server records 4002", async () => {
      const conn = await within(connect(server.url), T);
      cleanups.push(() => conn.terminate());
      const before = closesOf(server.peer).length;
      conn.send("close 4002 bye");
      assert.deepEqual(await within(conn.closed, T), { code: 4002, reason: "bye", wasClean: true });
      await server.peer.waitFor(() => (closesOf(server.peer).length > before ? true : undefined), T, "close");
      assert.equal(closesOf(server.peer)[before], 4002);
    });

    // The reproduction was faye's: `close 1006 ""` 5 of 5 runs before the fix.
    const runs = kind === "faye-websocket" ? 3 : 1;
    it(`\`wirecable connect -x 'close 4002 bye'\` exits 0 after its close reply: the server records 4002, ${runs} of ${runs}`, async () => {
      const before = closesOf(server.peer).length;
      for (let i = 0; i < runs; i++) {
        const { code, stderr } = await runCli(["connect", server.url, "-x", "close 4002 bye", "-w", "10"]);
        assert.equal(code, 0, stderr);
        assert.match(stderr, /closed: 4002 bye/);
      }
      const done = () => (closesOf(server.peer).length >= before + runs ? true : undefined);
      await server.peer.waitFor(done, T, "closes");
      assert.deepEqual(closesOf(server.peer).slice(before), Array(runs).fill(4002));
    });
  });
}
