/**
 * Our CableServer side by side with Rails' ActionCable from Debian (ruby-actioncable on puma,
 * test/fixtures/ruby/actioncable/config.ru), with the same channels (test/channels/
 * channels-fixture.ts and their Ruby twins): every transcript of test/interop/cable-transcripts.ts
 * is played against both and the frames each client received are compared one by one.
 * Identical, unless the transcript is listed in DIFFERENCES with the exact frames each side
 * sends and why: then both must match those, so a new difference fails, and so does a listed one
 * that went away (remove it from the list).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { UnauthorizedError } from "../../src/cable/errors.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { BrokenChannel, ChatChannel, objectChannel, PostChannel } from "../channels/channels-fixture.js";
import { FIXTURES, type RubyProcess, startPuma } from "../helpers/ruby.js";
import { UNIT } from "../helpers/time.js";
import {
  type CableControl,
  chat,
  perform,
  play,
  type Recording,
  subscribe,
  type Transcript,
} from "./cable-transcripts.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const big = (n: number) => "x".repeat(n);
const lobby = chat("lobby");
const post1 = JSON.stringify({ channel: "PostChannel", id: 1 });
const objects = JSON.stringify({ channel: "ObjectChannel" });
const hello = (query = "?user=bob"): Transcript["steps"] => [{ connect: "a", query }, { receive: 1 }];

export const TRANSCRIPTS: Transcript[] = [
  { name: "welcome", steps: [...hello(), { close: 1000 }] },
  { name: "welcome without an identity", steps: [...hello(""), { barrier: true }] },
  { name: "subscribe: confirmation", steps: [...hello(), { send: subscribe(lobby) }, { receive: 1 }] },
  {
    name: "subscribe twice: one confirmation",
    steps: [...hello(), { send: subscribe(lobby) }, { send: subscribe(lobby) }, { receive: 1 }, { barrier: true }],
  },
  {
    // One at a time: Rails confirms once its async pubsub has the stream, which runs on a pool of
    // threads, so the confirmations of two subscribes sent together may come swapped there.
    name: "two subscriptions",
    steps: [...hello(), { send: subscribe(chat("a")) }, { receive: 1 }, { send: subscribe(chat("b")) }, { receive: 1 }],
  },
  {
    name: "perform: speak broadcasts to the room",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "speak", text: "hi" }) },
      { receive: 1 },
    ],
  },
  {
    name: "perform: transmit to this subscriber",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "echo", value: "v" }) },
      { receive: 1 },
    ],
  },
  {
    name: "perform: whoami with an identity",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "whoami" }) },
      { receive: 1 },
    ],
  },
  {
    name: "perform: whoami without an identity",
    steps: [
      ...hello(""),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "whoami" }) },
      { receive: 1 },
    ],
  },
  {
    name: "perform without an action calls receive: nothing sent",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { text: "x" }) },
      { barrier: true },
    ],
  },
  {
    name: "perform of an unknown action: nothing sent",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "nope" }) },
      { barrier: true },
    ],
  },
  {
    name: "perform of a private method: nothing sent",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "_hidden" }) },
      { barrier: true },
    ],
  },
  {
    name: "perform of subscribed/unsubscribed: not actions",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "unsubscribed" }) },
      { send: perform(lobby, { action: "subscribed" }) },
      { barrier: true },
    ],
  },
  {
    name: "an action that raises: nothing sent, the connection stays",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "fail" }) },
      { send: perform(lobby, { action: "echo", value: "still here" }) },
      { receive: 1 },
    ],
  },
  {
    name: "perform of 100 KiB",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "echo", value: big(100 * KiB) }) },
      { receive: 1 },
    ],
  },
  {
    name: "perform of 2 MiB",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "echo", value: big(2 * MiB) }) },
      { receive: 1 },
    ],
  },
  {
    name: "subscription rejected by the channel",
    steps: [...hello(), { send: subscribe(chat("secret")) }, { receive: 1 }],
  },
  {
    name: "unknown channel",
    steps: [...hello(), { send: subscribe(JSON.stringify({ channel: "NoSuchChannel" })) }, { barrier: true }],
  },
  {
    name: "a channel whose subscribed raises",
    steps: [...hello(), { send: subscribe(JSON.stringify({ channel: "BrokenChannel" })) }, { barrier: true }],
  },
  {
    name: "params refused (PostChannel with a string id)",
    steps: [...hello(), { send: subscribe(JSON.stringify({ channel: "PostChannel", id: "1" })) }, { receive: 1 }],
  },
  {
    name: "unsubscribe, then perform on it: nothing sent",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: { command: "unsubscribe", identifier: lobby } },
      { send: perform(lobby, { action: "echo", value: "gone" }) },
      { barrier: true },
    ],
  },
  {
    name: "unsubscribe without a subscription: nothing sent",
    steps: [...hello(), { send: { command: "unsubscribe", identifier: lobby } }, { barrier: true }],
  },
  {
    name: "perform without a subscription: nothing sent",
    steps: [...hello(), { send: perform(lobby, { action: "echo", value: "v" }) }, { barrier: true }],
  },
  {
    name: "unknown command: nothing sent",
    steps: [...hello(), { send: { command: "nope", identifier: lobby } }, { barrier: true }],
  },
  {
    name: "identifier that is not JSON",
    steps: [...hello(), { send: { command: "subscribe", identifier: "{nope" } }, { barrier: true }],
  },
  { name: "a command that is not JSON", steps: [...hello(), { send: "{not json" }, { barrier: true }] },
  {
    name: "a binary frame",
    steps: [...hello(), { frame: { opcode: 2, payload: Buffer.from([1, 2, 3]) } }, { barrier: true }],
  },
  {
    name: "invalid UTF-8: 1007",
    steps: [...hello(), { frame: { opcode: 1, payload: Buffer.from([0x7b, 0xc0, 0xaf]) } }, { eof: true }],
  },
  {
    name: "a ping frame: pong",
    steps: [...hello(), { frame: { opcode: 9, payload: "are you there" } }, { receive: 1 }],
  },
  { name: "the client closes with 1000", steps: [...hello(), { close: 1000 }] },
  { name: "the client closes with 4001", steps: [...hello(), { close: 4001 }] },
  { name: "unauthorized", steps: [{ connect: "a", query: "?user=nobody" }, { eof: true }] },
  { name: "no subprotocol offered", steps: [{ connect: "a", query: "?user=bob", protocols: null }, { receive: 1 }] },
  {
    name: "only actioncable-unsupported offered",
    steps: [{ connect: "a", query: "?user=bob", protocols: ["actioncable-unsupported"] }, { receive: 1 }],
  },
  {
    name: "broadcast to two clients of a room",
    steps: [
      ...hello(),
      { connect: "b", query: "?user=eve" },
      { receive: 1, client: "b" },
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: subscribe(lobby), client: "b" },
      { receive: 1, client: "b" },
      { broadcast: ["chat_lobby", { text: "to all", n: 1 }] },
      { receive: 1 },
      { receive: 1, client: "b" },
    ],
  },
  {
    name: "broadcasts of a string, a number, an array, null",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      // One at a time: Rails' async adapter hands each broadcast to a pool of up to 10 threads
      // (StreamEventLoop#post), so two in quick succession may arrive swapped there.
      { broadcast: ["chat_lobby", "a string"] },
      { receive: 1 },
      { broadcast: ["chat_lobby", 42] },
      { receive: 1 },
      { broadcast: ["chat_lobby", [1, "two"]] },
      { receive: 1 },
      { broadcast: ["chat_lobby", null] },
      { receive: 1 },
    ],
  },
  {
    name: "JSON escaping: <>& and U+2028 in a broadcast",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { broadcast: ["chat_lobby", { html: "<b>&amp;</b>", ls: "a\u2028b" }] },
      { receive: 1 },
    ],
  },
  {
    name: "unicode in a transmit",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { send: perform(lobby, { action: "echo", value: "κόσμε 😀" }) },
      { receive: 1 },
    ],
  },
  {
    name: "stream_for a model (PostChannel)",
    steps: [
      ...hello(),
      { send: subscribe(post1) },
      { receive: 1 },
      { broadcast: ["post:Z2lkOi8vYXBwL1Bvc3QvMQ", { title: "first" }] },
      { receive: 1 },
    ],
  },
  {
    name: "stream_from with a callback (ObjectChannel) and a string transmit",
    steps: [
      ...hello(),
      { send: subscribe(objects) },
      { receive: 1 },
      { broadcast: ["objects", { n: 1 }] },
      { receive: 1 },
      { send: perform(objects, { action: "ping" }) },
      { receive: 1 },
    ],
  },
  {
    name: "server restart: everyone is disconnected, new connections are served",
    steps: [
      ...hello(),
      { send: subscribe(lobby) },
      { receive: 1 },
      { restart: true },
      { eof: true },
      { connect: "b", query: "?user=bob" },
      { receive: 1, client: "b" },
      { send: subscribe(lobby), client: "b" },
      { receive: 1, client: "b" },
    ],
  },
  {
    name: "remote disconnect of a user",
    steps: [
      ...hello(),
      { connect: "b", query: "?user=eve" },
      { receive: 1, client: "b" },
      { barrier: true },
      { disconnect: "bob" },
      { eof: true },
      { barrier: true, client: "b" },
    ],
  },
  { name: "the first heartbeat", steps: [...hello(), { heartbeat: true }] },
];

const WELCOME = ["101 actioncable-v1-json", 'text {"type":"welcome"}'];
const typed = (identifier: string, type: string) => `text ${JSON.stringify({ identifier, type })}`;
const barrier = (n: number) => typed(chat(`barrier-${n}`), "confirm_subscription");
const lobbyMessage = (message: string) => `text {"identifier":${JSON.stringify(lobby)},"message":${message}}`;
const noSuchChannel = JSON.stringify({ channel: "NoSuchChannel" });
const broken = JSON.stringify({ channel: "BrokenChannel" });

/**
 * Where we differ from Rails 6.1 on purpose (docs/channels.md, "Where we differ from Rails"),
 * with the exact frames of each side for the transcript's client(s).
 */
export const DIFFERENCES: Record<string, { why: string; rails: Recording; ours: Recording }> = {
  "unknown channel": {
    why: "Rails logs and sends nothing, so its client re-sends subscribe every 500 ms forever; we reject once",
    rails: { a: [...WELCOME, barrier(1)] },
    ours: { a: [...WELCOME, typed(noSuchChannel, "reject_subscription"), barrier(1)] },
  },
  "a channel whose subscribed raises": {
    why: "the same: Rails logs the exception and sends nothing; we reject (and report HANDLER_ERROR)",
    rails: { a: [...WELCOME, barrier(1)] },
    ours: { a: [...WELCOME, typed(broken, "reject_subscription"), barrier(1)] },
  },
  "invalid UTF-8: 1007": {
    why: "the same close code; the reason is free text (RFC 6455 7.1.6), ours names the problem our way",
    rails: { a: [...WELCOME, "close 1007 Could not decode a text frame as UTF-8", "EOF"] },
    ours: { a: [...WELCOME, "close 1007 invalid UTF-8 in a text message", "EOF"] },
  },
  "JSON escaping: <>& and U+2028 in a broadcast": {
    why: "ActiveSupport::JSON escapes <, >, & and U+2028 for HTML; the same JSON value once parsed",
    rails: {
      a: [
        ...WELCOME,
        typed(lobby, "confirm_subscription"),
        lobbyMessage(String.raw`{"html":"\u003cb\u003e\u0026amp;\u003c/b\u003e","ls":"a\u2028b"}`),
      ],
    },
    ours: {
      a: [...WELCOME, typed(lobby, "confirm_subscription"), lobbyMessage('{"html":"<b>&amp;</b>","ls":"a\u2028b"}')],
    },
  },
  "remote disconnect of a user": {
    why: 'Rails 6.1 closes without a word; Rails 7.1+ and we first send {"type":"disconnect","reason":"remote"}',
    rails: {
      a: [...WELCOME, barrier(1), "close 1000 ", "EOF"],
      b: [...WELCOME, barrier(2)],
    },
    ours: {
      a: [
        ...WELCOME,
        barrier(1),
        'text {"type":"disconnect","reason":"remote","reconnect":true}',
        "close 1000 ",
        "EOF",
      ],
      b: [...WELCOME, barrier(2)],
    },
  },
};

const rails: { puma?: RubyProcess; port?: number } = {};
let ours: CableServer;
let oursPort: number;
const controls: Record<"rails" | "ours", CableControl> = {
  rails: {
    async broadcast(stream, data) {
      await railsPost("/broadcast", JSON.stringify({ stream, data }));
    },
    async restart() {
      await railsPost("/restart", "");
    },
    async disconnect(user) {
      await railsPost(`/disconnect?user=${encodeURIComponent(user)}`, "");
    },
  },
  ours: {
    broadcast: (stream, data) => ours.broadcast(stream, data),
    restart: () => ours.restart(),
    async disconnect(user) {
      ours.disconnect((identity) => (identity as { name?: string } | null)?.name === user);
    },
  },
};

async function railsPost(path: string, body: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${rails.port}${path}`, { method: "POST", body });
  assert.equal(res.status, 200, `${path}: ${await res.text()}`);
}

before(async () => {
  const started = await startPuma(`${FIXTURES}actioncable/config.ru`);
  rails.puma = started.puma;
  rails.port = started.port;
  ours = new CableServer({
    port: 0,
    host: "127.0.0.1",
    channels: { ChatChannel, PostChannel, BrokenChannel, ObjectChannel: objectChannel },
    authenticate(req) {
      const user = new URL(req.url ?? "/", "http://x").searchParams.get("user");
      if (user === "nobody") throw new UnauthorizedError();
      return user === null ? null : { name: user };
    },
  });
  await ours.ready;
  oursPort = (ours.address() as { port: number }).port;
});
after(async () => {
  await ours?.close();
  await rails.puma?.stop();
});

describe("ActionCable transcripts: our CableServer against Rails' ActionCable 6.1 (Debian)", {
  timeout: 300_000,
}, () => {
  for (const t of TRANSCRIPTS) {
    it(t.name, async () => {
      const playRails = () =>
        play(t, rails.port!, controls.rails, 100 * UNIT).catch((e: Error) => ({ error: [e.message] }));
      let [fromRails, fromOurs] = await Promise.all([
        playRails(),
        play(t, oursPort, controls.ours, 100 * UNIT).catch((e: Error) => ({ error: [e.message] })),
      ]);
      const known = DIFFERENCES[t.name];
      // Rails (never ours) gets a second play when its first disagrees: on a busy machine
      // ActionCable 6.1 now and then loses its close reply (ClientSocket#begin_close shuts the
      // stream while the reply waits in Stream's write buffer, its write lock held by another
      // thread) or its async adapter swaps two quick broadcasts. Ours plays once and must match.
      if (!isDeepStrictEqual(fromRails, known === undefined ? fromOurs : known.rails)) fromRails = await playRails();
      const show = (r: Recording) =>
        JSON.stringify(
          r,
          (_k, v) => (typeof v === "string" && v.length > 300 ? `${v.slice(0, 300)}... (${v.length} chars)` : v),
          1,
        );
      if (known === undefined) {
        assert.deepEqual(
          fromOurs,
          fromRails,
          `ours:\n${show(fromOurs)}\nrails:\n${show(fromRails)}\n${rails.puma!.stderr.slice(-2000)}`,
        );
      } else {
        assert.deepEqual(fromRails, known.rails, `Rails no longer sends what DIFFERENCES lists:\n${show(fromRails)}`);
        assert.deepEqual(fromOurs, known.ours, `we no longer send what DIFFERENCES lists:\n${show(fromOurs)}`);
      }
    });
  }
});
