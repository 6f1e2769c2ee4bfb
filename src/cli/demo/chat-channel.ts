/**
 * The demo's ChatChannel: rooms, messages, presence and typing indicators over wirecable's
 * ActionCable-compatible channels and their delivery extensions.
 *
 * Wire contract (what the page relies on; docs/demo.md):
 * - Subscribe with `{ channel: "ChatChannel", room, name, member? }`: room 1-32 of [A-Za-z0-9_-],
 *   name 1-32 characters without control characters (trimmed), member (the page's id for this
 *   tab, 1-64 of [A-Za-z0-9_-]; a random one when absent). Anything else is rejected.
 * - Messages travel on `chat:${room}`, a stream that keeps history (CHAT_HISTORY): a new
 *   subscriber first gets the last 50 (`recent`), and a client with the extensions that comes
 *   back resumes where it was (every missed message once, in order) or is told to resync.
 * - Presence: each subscription is a member of `chat:${room}` (id `member`, info `{ name }`); the
 *   subscriber gets the members once, then coalesced joins and leaves (the extensions' `presence`
 *   messages; `{ presence }` messages for other clients), never the whole list per join.
 * - `speak({ id, text })`: id 1-64 of [A-Za-z0-9_-] chosen by the client, text 1-2000 characters.
 *   Accepted messages are broadcast as `{ type: "message", id, name, text, at }` and the action
 *   returns `{ id, at }` (the acknowledgement's reply: acknowledged performs run once however
 *   often the page re-sends them). A refused one gets `{ type: "refused", id, reason }` on the
 *   sender only and the reply `{ id, refused: reason }`.
 * - `typing({ typing })`: broadcast on `typing:${room}` (no history: never replayed) as
 *   `{ type: "typing", name, member, typing }`.
 * Text is never interpreted as HTML here or in the page: the page renders it with textContent.
 */
import { randomUUID } from "node:crypto";
import { Channel, type ChannelParams, type HistoryOptions } from "../../channels/index.js";

export interface ChatMessage {
  type: "message";
  id: string;
  name: string;
  text: string;
  /** Server time (ms since the epoch) when it was accepted. */
  at: number;
}

export interface ChatLimits {
  /** Characters per chat message. Default 2 000. */
  maxMessageLength?: number;
  /** Messages a new subscriber gets first. Default 50. */
  historySize?: number;
  /** Token bucket per subscription: `burst` messages, refilled at `perSecond`. Default 10, 2. */
  burst?: number;
  perSecond?: number;
}

/** What the rooms keep (every process and the cluster primary must agree): 500 messages, 1 hour. */
export const CHAT_HISTORY: HistoryOptions = {
  limit: 500,
  ttl: 60 * 60_000,
  streams: (stream) => stream.startsWith("chat:"),
};

export interface ChatDeps {
  limits?: ChatLimits;
  /** Called for every accepted chat message (metrics, logs). */
  onMessage?: (room: string, message: ChatMessage) => void;
}

const ROOM = /^[A-Za-z0-9_-]{1,32}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function validName(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const name = value.trim();
  if (name.length === 0 || [...name].length > 32 || CONTROL.test(name)) return null;
  return name;
}

export function validRoom(value: unknown): string | null {
  return typeof value === "string" && ROOM.test(value) ? value : null;
}

/** Build the ChatChannel class with its limits. */
export function createChatChannel(deps: ChatDeps = {}) {
  const maxLength = deps.limits?.maxMessageLength ?? 2000;
  const historySize = deps.limits?.historySize ?? 50;
  const burst = deps.limits?.burst ?? 10;
  const perSecond = deps.limits?.perSecond ?? 2;

  return class ChatChannel extends Channel<unknown, { room: string; name: string; member: string }> {
    static override params = (params: ChannelParams): false | ChannelParams => {
      const room = validRoom(params.room);
      const name = validName(params.name);
      if (room === null || name === null) return false;
      if (params.member !== undefined && (typeof params.member !== "string" || !ID.test(params.member))) return false;
      return { ...params, room, name, member: params.member ?? randomUUID() };
    };

    #tokens = burst;
    #refilled = Date.now();
    /** Whether this member said it is typing (a leave then clears it, once). */
    #typing = false;

    override async subscribed(): Promise<void> {
      const { room, name, member } = this.params;
      await this.streamFrom(`chat:${room}`, { presence: true, recent: historySize });
      await this.streamFrom(`typing:${room}`);
      await this.joinPresence(`chat:${room}`, { id: member, info: { name } });
    }

    override unsubscribed(): void {
      // Only a member shown as typing needs clearing: a room emptying at once (a storm of
      // leaves) must not broadcast to every remaining member for every leaving one.
      if (!this.#typing) return;
      const { room, name, member } = this.params;
      void this.broadcast(`typing:${room}`, { type: "typing", name, member, typing: false });
    }

    async speak(data: Record<string, unknown>): Promise<{ id: string | null; at?: number; refused?: string }> {
      const id = typeof data.id === "string" && ID.test(data.id) ? data.id : null;
      const text = typeof data.text === "string" ? data.text : null;
      const refuse = (reason: string) => {
        this.transmit({ type: "refused", id, reason });
        return { id, refused: reason };
      };
      if (id === null) return refuse("bad id");
      if (text === null || text.trim().length === 0) return refuse("empty message");
      if (text.length > maxLength) return refuse(`message longer than ${maxLength} characters`);
      if (!this.#take()) return refuse("rate limited: slow down");
      const message: ChatMessage = { type: "message", id, name: this.params.name, text, at: Date.now() };
      deps.onMessage?.(this.params.room, message);
      await this.broadcast(`chat:${this.params.room}`, message);
      this.#typing = false; // the page stops showing a sender as typing when its message arrives
      return { id, at: message.at };
    }

    typing(data: Record<string, unknown>): Promise<void> {
      const { room, name, member } = this.params;
      this.#typing = data.typing === true;
      return this.broadcast(`typing:${room}`, { type: "typing", name, member, typing: this.#typing });
    }

    /** Token bucket: `burst` messages, refilled at `perSecond`. */
    #take(): boolean {
      const now = Date.now();
      this.#tokens = Math.min(burst, this.#tokens + ((now - this.#refilled) / 1000) * perSecond);
      this.#refilled = now;
      if (this.#tokens < 1) return false;
      this.#tokens -= 1;
      return true;
    }
  };
}
