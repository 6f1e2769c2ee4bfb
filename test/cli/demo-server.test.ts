// The demo chat server in-process (startDemoServer on port 0): chat, presence, typing, history,
// duplicates dropped by id, limits (message length, chat rate, WebSocket size and rate), room
// and name validation, origins, /healthz, /metrics, graceful close (server_restart + 1001).
import assert from "node:assert/strict";
import { once } from "node:events";
import { hostname } from "node:os";
import { after, before, describe, it } from "node:test";
import WS from "ws";
import { type DemoServer, startDemoServer } from "../../src/cli/demo/server.js";
import { type ChatClient, cableUrl, joinChat } from "./chat-client.js";

let server: DemoServer;
const clients: ChatClient[] = [];

function join(room: string, name: string, origin?: string): ChatClient {
  const c = joinChat(server.url, room, name, origin);
  clients.push(c);
  return c;
}

before(async () => {
  server = await startDemoServer({
    port: 0,
    processMetrics: false,
    chat: { burst: 5, perSecond: 1 },
    rateLimit: { messages: 40, interval: 1000 },
  });
});

after(async () => {
  for (const c of clients) c.close();
  await server.close();
});

/** A raw socket to the cable, answered with the HTTP status when refused. */
function raw(headers: Record<string, string> = {}): Promise<{ ws?: WS; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WS(cableUrl(server.url), ["actioncable-v1-json"], { headers });
    ws.on("open", () => resolve({ ws }));
    ws.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode }));
    ws.on("error", () => {});
  });
}

describe("demo server: chat", () => {
  it("delivers messages to the room, with presence, typing and history", async () => {
    const alice = join("room1", "alice");
    await alice.connected;
    await alice.waitFor((e) => e.type === "presence" && e.count === 1);
    const bob = join("room1", "bob");
    await bob.connected;
    await alice.waitFor((e) => e.type === "presence" && (e.joined as string[]).includes("bob") && e.count === 2);
    const other = join("room2", "carol");
    await other.connected;

    const id = alice.speak("hello <b>bob</b>");
    const got = await bob.waitFor((e) => e.type === "message" && e.id === id);
    assert.equal(got.text, "hello <b>bob</b>"); // stored and relayed as text; the page escapes
    assert.equal(got.name, "alice");
    await alice.waitFor((e) => e.type === "message" && e.id === id); // the sender sees it too
    const reply = (await alice.replies.get(id)) as { id: string; at: number };
    assert.deepEqual(reply, { id, at: got.at }); // and the acknowledgement's reply

    bob.typing(true);
    await alice.waitFor((e) => e.type === "typing" && e.name === "bob" && e.typing === true);

    alice.speak("second");
    await bob.waitFor((e) => e.type === "message" && e.text === "second");
    assert.deepEqual(bob.messages(), ["hello <b>bob</b>", "second"]);

    // Another room hears nothing.
    assert.deepEqual(other.messages(), []);

    // A newcomer gets the room's recent messages first; bob leaving is seen by alice.
    const dave = join("room1", "dave");
    await dave.waitFor((e) => e.type === "message" && e.text === "second");
    assert.deepEqual(dave.messages(), ["hello <b>bob</b>", "second"]);
    bob.close();
    await alice.waitFor((e) => e.type === "presence" && (e.left as string[]).includes("bob"));
    await alice.waitFor((e) => e.type === "typing" && e.name === "bob" && e.typing === false);
  });

  it("refuses bad rooms and names", async () => {
    for (const [room, name] of [
      ["has space", "x"],
      ["", "x"],
      ["a".repeat(33), "x"],
      ["ok", ""],
      ["ok", "   "],
      ["ok", "x".repeat(33)],
      ["ok", "bell\u0007"],
    ]) {
      const c = join(room!, name!);
      await c.waitFor((e) => e.type === "rejected");
      c.close();
    }
  });

  it("refuses empty, too long and too fast messages, and bad ids", async () => {
    const c = join("limits", "lim");
    await c.connected;
    c.speak("");
    await c.waitFor((e) => e.type === "refused" && e.reason === "empty message");
    c.speak("x".repeat(2001));
    await c.waitFor((e) => e.type === "refused" && /longer than 2000/.test(String(e.reason)));
    c.speak("ok", "bad id!");
    await c.waitFor((e) => e.type === "refused" && e.reason === "bad id");
    c.speak("y".repeat(2000));
    await c.waitFor((e) => e.type === "message" && String(e.text).length === 2000);
    for (let i = 0; i < 8; i++) c.speak(`burst ${i}`);
    await c.waitFor((e) => e.type === "refused" && /rate limited/.test(String(e.reason)));
    const accepted = c.messages().filter((m) => m.startsWith("burst"));
    assert.ok(accepted.length >= 3 && accepted.length <= 5, `accepted ${accepted.length} of 8 in a burst`);
  });
});

describe("demo server: WebSocket limits and origins", () => {
  it("closes a connection sending a message over 64 KiB with 1009", async () => {
    const { ws } = await raw();
    assert.ok(ws);
    ws.send("x".repeat(64 * 1024 + 1));
    const [code] = await once(ws, "close");
    assert.equal(code, 1009);
  });

  it("closes a connection over the message rate with 1008", async () => {
    const { ws } = await raw();
    assert.ok(ws);
    for (let i = 0; i < 100; i++) ws.send('{"command":"noop"}');
    const [code] = await once(ws, "close");
    assert.equal(code, 1008);
  });

  it("accepts its own origins and no origin, refuses others with 403", async () => {
    assert.ok((await raw({ origin: `http://localhost:${server.port}` })).ws);
    assert.ok((await raw({ origin: `http://127.0.0.1:${server.port}` })).ws);
    assert.ok((await raw()).ws);
    assert.equal((await raw({ origin: "http://evil.example" })).status, 403);
    assert.equal((await raw({ origin: `http://localhost:${server.port + 1}` })).status, 403);
    assert.equal((await raw({ origin: "null" })).status, 403);
  });

  it("bound to every interface, allows the machine's own addresses and host name", async () => {
    const s = await startDemoServer({ port: 0, host: "0.0.0.0", processMetrics: false });
    try {
      const status = (origin: string) =>
        new Promise<number | "open">((resolve) => {
          const ws = new WS(`ws://127.0.0.1:${s.port}/cable`, ["actioncable-v1-json"], { origin });
          ws.on("open", () => {
            ws.close();
            resolve("open");
          });
          ws.on("unexpected-response", (_q, r) => resolve(r.statusCode ?? 0));
        });
      assert.equal(await status(`http://${hostname()}:${s.port}`), "open");
      assert.equal(await status(`http://127.0.0.1:${s.port}`), "open");
      assert.equal(await status(`http://evil.example:${s.port}`), 403);
    } finally {
      await s.close();
    }
  });

  it("allows configured extra origins", async () => {
    const s = await startDemoServer({ port: 0, processMetrics: false, origins: ["https://chat.example.com/"] });
    try {
      const ok = await new Promise<number | "open">((resolve) => {
        const ws = new WS(cableUrl(s.url), ["actioncable-v1-json"], { origin: "https://chat.example.com" });
        ws.on("open", () => {
          ws.close();
          resolve("open");
        });
        ws.on("unexpected-response", (_q, r) => resolve(r.statusCode ?? 0));
      });
      assert.equal(ok, "open");
    } finally {
      await s.close();
    }
  });
});

describe("demo server: HTTP endpoints", () => {
  it("serves the page with security headers", async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const html = await res.text();
    assert.match(html, /<script src="\/app\.js" defer><\/script>/);
    assert.doesNotMatch(html, /<script>/, "no inline script");
    assert.equal((await fetch(`${server.url}/app.js`)).status, 200);
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    assert.equal((await fetch(`${server.url}/`, { method: "POST" })).status, 405);
  });

  it("/healthz and /metrics", async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, "ok");
    const res = await fetch(`${server.url}/metrics`);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    for (const name of [
      "wirecable_connections",
      "wirecable_connections_total",
      "wirecable_messages_in_total",
      "wirecable_messages_out_total",
      "wirecable_bytes_in_total",
      "wirecable_bytes_out_total",
      "wirecable_messages_dropped_total",
      "wirecable_errors_total",
      "wirecable_broker_lag_seconds",
      "wirecable_chat_messages_total",
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
    }
    const value = (name: string): number =>
      Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m"))?.[1]);
    assert.ok(value("wirecable_messages_in_total") > 0);
    assert.ok(value("wirecable_bytes_out_total") > 0);
    assert.ok(value("wirecable_chat_messages_total") >= 3);
    assert.ok(value("wirecable_broker_lag_seconds") >= 0);
    assert.match(text, /wirecable_errors_total\{kind="handshake"\} [1-9]/);
  });
});

describe("demo server: graceful close", () => {
  it("sends server_restart and closes with 1001", async () => {
    const s = await startDemoServer({ port: 0, processMetrics: false });
    const ws = new WS(cableUrl(s.url), ["actioncable-v1-json"]);
    const texts: string[] = [];
    ws.on("message", (d) => texts.push(String(d)));
    await once(ws, "open");
    const closed = once(ws, "close");
    const closing = s.close();
    const [code] = await closed;
    await closing;
    assert.equal(code, 1001);
    assert.ok(texts.includes('{"type":"disconnect","reason":"server_restart","reconnect":true}'), texts.join());
  });
});
