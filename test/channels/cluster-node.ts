/**
 * A child process for the multi-process tests: a CableServer (or, with MODE=broadcaster, no
 * server at all) sharing the broker at BROKER_URL (createBroker: redis://, redis+cluster://,
 * nats://, postgres://). Talks to its parent over IPC:
 * sends {type:"ready", port} / {type:"disconnected", at} / {type:"reconnected", at, ...} /
 * {type:"lost"}; obeys {type:"broadcast", stream, data} (answers {type:"broadcasted", id, ok,
 * start, end}: Date.now() around the publish) and {type:"exit"}.
 */
import { createBroadcaster } from "../../src/channels/broadcaster.js";
import { createBroker } from "../../src/channels/brokers/from-url.js";
import { CableServer } from "../../src/channels/cable-server.js";
import { Channel } from "../../src/channels/channel.js";

class ChatChannel extends Channel {
  override async subscribed(): Promise<void> {
    // With a `member` param: presence of the room (joined as that member, watched).
    const member = this.params.member;
    await this.streamFrom(`chat:${this.params.room}`, { presence: typeof member === "string" });
    if (typeof member === "string")
      await this.joinPresence(`chat:${this.params.room}`, { id: member, info: { pid: process.pid } });
  }
  speak(data: { text: string }): void {
    void this.broadcast(`chat:${this.params.room}`, { text: data.text, via: process.pid });
  }
}

type Command = { type: "broadcast"; id: number; stream: string; data: unknown } | { type: "exit" };

const send = (msg: unknown) => process.send?.(msg);
const prefix = process.env.PREFIX ?? "cluster";
const url = process.env.BROKER_URL;
// PRESENCE_TTL (ms): presence timing for the SIGKILL tests (heartbeat a quarter of it).
const ttl = Number(process.env.PRESENCE_TTL ?? 0);
const broker = createBroker(url, { prefix, ...(ttl > 0 ? { presence: { ttl, heartbeat: ttl / 4 } } : {}) });
broker.on("disconnected", () => send({ type: "disconnected", at: Date.now() }));
broker.on("reconnected", (info) => send({ type: "reconnected", at: Date.now(), ...info }));
broker.on("lost", () => send({ type: "lost" }));

let broadcast: (stream: string, data: unknown) => Promise<void>;
let shutdown: () => Promise<void>;
if (process.env.MODE === "broadcaster") {
  const b = createBroadcaster({ broker });
  broadcast = b.broadcast;
  shutdown = () => b.close();
  send({ type: "ready", port: 0 });
} else {
  const cable = new CableServer({ port: 0, host: "127.0.0.1", channels: { ChatChannel }, broker });
  await cable.ready;
  broadcast = (stream, data) => cable.broadcast(stream, data);
  shutdown = async () => {
    await cable.close();
    await broker.close();
  };
  send({ type: "ready", port: (cable.address() as { port: number }).port });
}

process.on("message", async (cmd: Command) => {
  if (cmd.type === "broadcast") {
    const start = Date.now();
    try {
      await broadcast(cmd.stream, cmd.data);
      send({ type: "broadcasted", id: cmd.id, ok: true, start, end: Date.now() });
    } catch {
      send({ type: "broadcasted", id: cmd.id, ok: false, start, end: Date.now() });
    }
  } else if (cmd.type === "exit") {
    await shutdown();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0)); // parent gone: never linger
