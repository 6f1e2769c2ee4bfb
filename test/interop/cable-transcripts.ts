/**
 * Scripted ActionCable sessions ("transcripts") played against any cable server over raw TCP,
 * recording every frame the server sends, for test/interop/actioncable-rails.test.ts, which plays
 * each against Rails' ActionCable (test/fixtures/ruby/actioncable/config.ru) and our CableServer
 * with the same channels (test/channels/channels-fixture.ts) and diffs them frame by frame.
 *
 * A transcript is a list of steps for one or more clients ("a" unless said). Frames are recorded
 * as text: `text <payload>`, `binary <hex>`, `pong <payload>`, `close <code> <reason>`, and `EOF`
 * when the server closed TCP. ActionCable's heartbeats ({"type":"ping"}) are left out (their
 * timing differs by design), except in a transcript that asks for one, where the time is
 * replaced by `<now>`.
 */
import { closeBody, frame, OP, type WireMessage } from "../helpers/frames.js";
import { RawClient } from "../helpers/raw-client.js";

/** What a transcript asks of the server process (besides frames): broadcast, restart, disconnect. */
export interface CableControl {
  broadcast(stream: string, data: unknown): Promise<void>;
  restart(): Promise<void>;
  disconnect(user: string): Promise<void>;
}

export type Step =
  /** Open client `client` (default "a") with `query` ("?user=bob") and these subprotocols. */
  | { connect: string; query?: string; protocols?: string[] | null }
  /** Send a text frame: an object is sent as its JSON. */
  | { send: unknown; client?: string }
  /** Send a raw frame (masked for you). */
  | { frame: { opcode: number; payload: Buffer | string }; client?: string }
  /** Wait until `count` more frames were recorded for the client (heartbeats not counted). */
  | { receive: number; client?: string }
  /**
   * Prove nothing else is on its way: subscribe with a fresh identifier and wait for its
   * confirmation (commands run one at a time, in order, on both servers), recorded too.
   */
  | { barrier: true; client?: string }
  /** Wait for the first heartbeat and record it. */
  | { heartbeat: true; client?: string }
  /** Wait until the server closed TCP (after its close frame, if any). */
  | { eof: true; client?: string }
  /** Close with `code` (our close frame), then wait for the server's answer and its TCP close. */
  | { close: number; client?: string }
  | { broadcast: [string, unknown] }
  | { restart: true }
  | { disconnect: string };

export interface Transcript {
  name: string;
  steps: Step[];
}

export const CABLE_PROTOCOLS = ["actioncable-v1-json", "actioncable-unsupported"];
export const chat = (room: string) => JSON.stringify({ channel: "ChatChannel", room });
export const subscribe = (identifier: string) => ({ command: "subscribe", identifier });
export const perform = (identifier: string, data: Record<string, unknown>) => ({
  command: "message",
  identifier,
  data: JSON.stringify(data),
});

/** Recorded frames per client. */
export type Recording = Record<string, string[]>;

function render(m: WireMessage | null): string {
  if (m === null) return "EOF";
  switch (m.kind) {
    case "text": {
      const frames = m.frames > 1 ? ` (${m.frames} frames)` : "";
      return `text ${m.data.toString("utf8")}${frames}`;
    }
    case "binary":
      return `binary ${m.data.toString("hex")}`;
    case "close":
      return m.data.length < 2 ? "close (no code)" : `close ${m.data.readUInt16BE(0)} ${m.data.subarray(2).toString()}`;
    default:
      return `${m.kind} ${m.data.toString()}`;
  }
}

const isHeartbeat = (m: WireMessage | null) =>
  m !== null && m.kind === "text" && /^\{"type":"ping","message":\d+\}$/.test(m.data.toString());

class Session {
  readonly frames: string[] = [];
  #ended = false;
  constructor(readonly raw: RawClient) {}

  /** The next frame that is not a heartbeat (or a heartbeat when `heartbeat`), recorded. */
  async take(ms: number, heartbeat = false): Promise<string> {
    for (;;) {
      if (this.#ended) throw new Error("the server closed TCP");
      const m = await this.raw.next(ms);
      if (m === null) this.#ended = true;
      // A client answers the server's close (RFC 6455 5.5.1) unless it sent its own first.
      if (m?.kind === "close" && !this.closeSent) await this.#answerClose(m.data);
      if (isHeartbeat(m) && !heartbeat) continue;
      const line = heartbeat && isHeartbeat(m) ? render(m).replace(/\d+\}$/, "<now>}") : render(m);
      this.frames.push(line);
      return line;
    }
  }

  /** Set once this client sent a close frame. */
  closeSent = false;

  async #answerClose(data: Buffer): Promise<void> {
    this.closeSent = true;
    await this.raw.sendFrame(OP.CLOSE, data.length >= 2 ? closeBody(data.readUInt16BE(0)) : new Uint8Array(0));
  }

  async untilEof(ms: number): Promise<void> {
    while (!this.#ended) await this.take(ms);
  }
}

/** Play `transcript` against the cable at `port` (path /cable). Frames per client, in order. */
export async function play(
  transcript: Transcript,
  port: number,
  control: CableControl,
  ms = 10_000,
): Promise<Recording> {
  const sessions = new Map<string, Session>();
  let barriers = 0;
  const session = (name = "a") => {
    const s = sessions.get(name);
    if (!s) throw new Error(`${transcript.name}: client ${name} is not connected`);
    return s;
  };
  try {
    for (const step of transcript.steps) {
      if ("connect" in step) {
        const protocols = step.protocols === undefined ? CABLE_PROTOCOLS : step.protocols;
        const headers: Record<string, string> = protocols ? { "Sec-WebSocket-Protocol": protocols.join(", ") } : {};
        const raw = await RawClient.connect(port, { path: `/cable${step.query ?? ""}`, headers });
        const s = new Session(raw);
        const protocol = /^sec-websocket-protocol:\s*(.+)$/im.exec(raw.response)?.[1]?.trim();
        s.frames.push(`101 ${protocol ?? "(no subprotocol)"}`);
        sessions.set(step.connect, s);
      } else if ("send" in step) {
        const text = typeof step.send === "string" ? step.send : JSON.stringify(step.send);
        await session(step.client).raw.sendFrame(OP.TEXT, text);
      } else if ("frame" in step) {
        await session(step.client).raw.send(frame(step.frame.opcode, step.frame.payload, { mask: "random" }));
      } else if ("receive" in step) {
        for (let i = 0; i < step.receive; i++) await session(step.client).take(ms);
      } else if ("barrier" in step) {
        const s = session(step.client);
        const identifier = chat(`barrier-${++barriers}`);
        await s.raw.sendFrame(OP.TEXT, JSON.stringify(subscribe(identifier)));
        const confirm = JSON.stringify({ identifier, type: "confirm_subscription" });
        while ((await s.take(ms)) !== `text ${confirm}`) {
          // frames before the barrier's confirmation are recorded (and compared)
        }
      } else if ("heartbeat" in step) {
        const s = session(step.client);
        while (!(await s.take(ms, true)).startsWith('text {"type":"ping"')) {
          // anything else before the first heartbeat is recorded
        }
      } else if ("eof" in step) {
        await session(step.client).untilEof(ms);
      } else if ("close" in step) {
        const s = session(step.client);
        s.closeSent = true;
        await s.raw.sendFrame(OP.CLOSE, closeBody(step.close));
        await s.untilEof(ms);
      } else if ("broadcast" in step) {
        await control.broadcast(step.broadcast[0], step.broadcast[1]);
      } else if ("restart" in step) {
        await control.restart();
      } else if ("disconnect" in step) {
        await control.disconnect(step.disconnect);
      }
    }
  } finally {
    for (const s of sessions.values()) s.raw.destroy();
  }
  return Object.fromEntries([...sessions].map(([name, s]) => [name, s.frames]));
}
