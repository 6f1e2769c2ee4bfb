// examples/chat-room: join/leave counts, chat and typing relayed to the others (not the
// sender), invalid JSON and oversize text answered with an error.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { start } from "../../examples/chat-room/server.js";
import { type Connection, connect, type WebSocketServer } from "../../src/node/index.js";

let wss: WebSocketServer;
before(async () => {
  wss = await start(0);
});
after(() => wss.close());

type Message = Record<string, unknown>;

function inbox(conn: Connection): {
  all: Message[];
  next(type: string, where?: (m: Message) => boolean): Promise<Message>;
} {
  const all: Message[] = [];
  const waiters: Array<() => void> = [];
  conn.on("message", (d: string | Buffer) => {
    all.push(JSON.parse(String(d)));
    for (const w of waiters.splice(0)) w();
  });
  let read = 0;
  return {
    all,
    next(type, where = () => true) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type}: ${JSON.stringify(all)}`)), 5000);
        const check = (): void => {
          while (read < all.length) {
            const m = all[read++]!;
            if (m.type === type && where(m)) {
              clearTimeout(timer);
              resolve(m);
              return;
            }
          }
          waiters.push(check);
        };
        check();
      });
    },
  };
}

it("relays chat and typing to the others, with join/leave counts", async () => {
  const a = await connect(wss.url!);
  const inA = inbox(a);
  const b = await connect(wss.url!);
  const inB = inbox(b);
  await inA.next("join", (m) => m.count === 2); // a hears b join
  a.send(JSON.stringify({ type: "chat", user: "ann", text: "<i>hi</i>" }));
  const chat = await inB.next("chat");
  assert.equal(chat.user, "ann");
  assert.equal(chat.text, "<i>hi</i>");
  b.send(JSON.stringify({ type: "typing", user: "bob" }));
  assert.equal((await inA.next("typing")).user, "bob");
  a.send("not json");
  assert.equal((await inA.next("error")).message, "Invalid JSON");
  a.send(JSON.stringify({ type: "chat", user: "ann", text: "x".repeat(1001) }));
  assert.equal((await inA.next("error")).message, "Invalid message");
  assert.equal(inA.all.filter((m) => m.type === "chat").length, 0, "the sender does not get its own chat");
  b.close();
  await inA.next("leave", (m) => m.count === 1);
  a.close();
});
