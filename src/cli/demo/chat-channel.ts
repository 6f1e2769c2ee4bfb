/**
 * The demo's ChatChannel: rooms, messages, presence and typing indicators over wirecable's
 * ActionCable-compatible channels.
 *
 * Wire contract (what the page relies on; docs/demo.md):
 * - Subscribe with `{ channel: "ChatChannel", room, name }`: room 1-32 of [A-Za-z0-9_-], name
 *   1-32 characters without control characters (trimmed). Anything else is rejected.
 * - On subscribe the subscriber gets `{ type: "history", messages }` (the last messages this
 *   process saw in the room) and `{ type: "presence", event: "join", ... }`.
 * - `speak({ id, text })`: id 1-64 of [A-Za-z0-9_-] chosen by the client, text 1-2000 characters.
 *   Accepted messages are broadcast on `chat:${room}` as `{ type: "message", id, name, text, at }`
 *   (the sender receives its own message: that is its acknowledgement). A refused one gets
 *   `{ type: "refused", id, reason }` on the sender only. Ids seen recently are not broadcast
 *   twice (a client re-sends unacknowledged messages after a reconnection).
 * - `typing({ typing })`: broadcast as `{ type: "typing", name, member, typing }`.
 * - Presence changes reach each subscriber as `{ type: "presence", event, name?, count, members }`.
 * Text is never interpreted as HTML here or in the page: the page renders it with textContent.
 */
import { randomUUID } from "node:crypto";
import { Channel, type ChannelParams } from "../../channels/index.js";
import type { Member, Presence, PresenceChange } from "./presence.js";

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
  /** Messages kept per room for newcomers. Default 50. */
  historySize?: number;
  /** Token bucket per subscription: `burst` messages, refilled at `perSecond`. Default 10, 2. */
  burst?: number;
  perSecond?: number;
}

export interface ChatDeps {
  presence: Presence;
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

/** Recent messages and ids per room, as seen by this process. */
class RoomLog {
  readonly messages: ChatMessage[] = [];
  readonly ids = new Set<string>();
  constructor(readonly size: number) {}
  add(message: ChatMessage): void {
    this.messages.push(message);
    this.ids.add(message.id);
    while (this.messages.length > this.size) this.ids.delete(this.messages.shift()!.id);
  }
}

/** Build the ChatChannel class bound to a presence table and limits. */
export function createChatChannel(deps: ChatDeps) {
  const maxLength = deps.limits?.maxMessageLength ?? 2000;
  const historySize = deps.limits?.historySize ?? 50;
  const burst = deps.limits?.burst ?? 10;
  const perSecond = deps.limits?.perSecond ?? 2;
  const logs = new Map<string, { log: RoomLog; subscribers: number }>();

  return class ChatChannel extends Channel<unknown, { room: string; name: string }> {
    static override params = (params: ChannelParams): false | ChannelParams => {
      const room = validRoom(params.room);
      const name = validName(params.name);
      if (room === null || name === null) return false;
      return { ...params, room, name };
    };

    #member: Member | undefined;
    #room = "";
    #tokens = burst;
    #refilled = Date.now();
    readonly #onPresence = (change: PresenceChange): void => {
      this.transmit({
        type: "presence",
        event: change.event,
        ...(change.member ? { name: change.member.name, member: change.member.id } : {}),
        count: change.members.length,
        members: change.members.map((m) => m.name),
      });
    };

    override async subscribed(): Promise<void> {
      const { room, name } = this.params;
      this.#room = room;
      let entry = logs.get(room);
      if (entry === undefined) logs.set(room, (entry = { log: new RoomLog(historySize), subscribers: 0 }));
      entry.subscribers++;
      const log = entry.log;
      // Our own listener records history; the subscriber gets the broadcasts forwarded as-is.
      await this.streamFrom(`chat:${room}`, (message) => {
        const m = message as Partial<ChatMessage> | null;
        if (m?.type === "message" && typeof m.id === "string") {
          if (!log.ids.has(m.id)) log.add(m as ChatMessage);
        }
        this.transmit(message);
      });
      this.transmit({ type: "history", messages: log.messages });
      this.#member = { id: randomUUID(), name };
      await deps.presence.join(room, this.#member, this.#onPresence);
    }

    override unsubscribed(): void {
      if (this.#member !== undefined) deps.presence.leave(this.#room, this.#member, this.#onPresence);
      const entry = logs.get(this.#room);
      if (entry !== undefined && --entry.subscribers <= 0) logs.delete(this.#room);
      if (this.#member !== undefined) {
        void this.broadcast(`chat:${this.#room}`, {
          type: "typing",
          name: this.#member.name,
          member: this.#member.id,
          typing: false,
        }).catch(() => {});
      }
    }

    async speak(data: Record<string, unknown>): Promise<void> {
      const id = typeof data.id === "string" && ID.test(data.id) ? data.id : null;
      const text = typeof data.text === "string" ? data.text : null;
      const refuse = (reason: string) => this.transmit({ type: "refused", id, reason });
      if (id === null) return refuse("bad id");
      if (text === null || text.trim().length === 0) return refuse("empty message");
      if (text.length > maxLength) return refuse(`message longer than ${maxLength} characters`);
      if (logs.get(this.#room)?.log.ids.has(id)) {
        // Already broadcast (a re-send after a reconnection): acknowledge it to this sender only.
        const original = logs.get(this.#room)?.log.messages.find((m) => m.id === id);
        if (original) this.transmit(original);
        return;
      }
      if (!this.#take()) return refuse("rate limited: slow down");
      const message: ChatMessage = { type: "message", id, name: this.params.name, text, at: Date.now() };
      deps.onMessage?.(this.#room, message);
      await this.broadcast(`chat:${this.#room}`, message);
    }

    typing(data: Record<string, unknown>): Promise<void> {
      return this.broadcast(`chat:${this.#room}`, {
        type: "typing",
        name: this.params.name,
        member: this.#member?.id,
        typing: data.typing === true,
      });
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
