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
 *   `{ type: "typing", name, member, typing }`, at most once per `typingInterval` per member:
 *   what comes sooner is coalesced into one trailing broadcast of the latest state.
 * - Fan-out is bounded: each process gives a room `roomDeliveries` deliveries per second (a
 *   broadcast costs one per member of the room in this process). Over it, a typing broadcast is
 *   dropped and a message refused to its sender (`reason: "room busy"`). Whatever is coalesced
 *   or dropped is counted (`onDropped`: /metrics `wirecable_messages_dropped_total{reason}`).
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
  /** Typing broadcasts per member: at most one per this many ms (the latest state trails). Default 1 000. */
  typingInterval?: number;
  /**
   * Deliveries per second a room may cost this process (a broadcast costs one per member here).
   * Default 20 000: about 0.08 s of CPU per second at ~4 us per delivery; a room of 300 gets 66
   * broadcasts a second, more than people can read. 0: no bound.
   */
  roomDeliveries?: number;
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
  /**
   * Called for commands that are not broadcast: `"typing coalesced"` (superseded within the
   * typing interval), `"room busy"` (over the room's delivery budget).
   */
  onDropped?: (reason: "typing coalesced" | "room busy", count: number) => void;
}

/** A room as this process sees it: its members here, and its delivery budget (a token bucket). */
interface RoomLoad {
  members: number;
  tokens: number;
  refilled: number;
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
  const typingInterval = deps.limits?.typingInterval ?? 1000;
  const roomDeliveries = deps.limits?.roomDeliveries ?? 20_000;
  const rooms = new Map<string, RoomLoad>();
  const dropped = (reason: "typing coalesced" | "room busy") => deps.onDropped?.(reason, 1);

  /**
   * Take one broadcast's deliveries from the room's budget (refilled at `roomDeliveries` per
   * second, holding at most one second's worth). A room larger than the budget still gets one
   * broadcast whenever the bucket is full.
   */
  const spend = (room: string): boolean => {
    const load = rooms.get(room);
    if (roomDeliveries === 0 || load === undefined) return true;
    const now = Date.now();
    load.tokens = Math.min(roomDeliveries, load.tokens + ((now - load.refilled) / 1000) * roomDeliveries);
    load.refilled = now;
    const cost = Math.min(load.members, roomDeliveries);
    if (load.tokens < cost) return false;
    load.tokens -= cost;
    return true;
  };

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
    /** Whether this member is shown as typing (the last state broadcast; a leave clears it, once). */
    #typing = false;
    /** The latest state asked for, broadcast when the typing interval allows. */
    #typingWanted = false;
    /** When the last typing broadcast went out (0: never). */
    #typingAt = 0;
    /** The trailing broadcast of the latest state, while one is due. */
    #typingTimer: ReturnType<typeof setTimeout> | undefined;
    /** Counted in its room's members here. */
    #joined = false;

    override async subscribed(): Promise<void> {
      const { room, name, member } = this.params;
      await this.streamFrom(`chat:${room}`, { presence: true, recent: historySize });
      await this.streamFrom(`typing:${room}`);
      await this.joinPresence(`chat:${room}`, { id: member, info: { name } });
      const load = rooms.get(room);
      if (load === undefined) rooms.set(room, { members: 1, tokens: roomDeliveries, refilled: Date.now() });
      else load.members++;
      this.#joined = true;
    }

    override unsubscribed(): void {
      const { room, name, member } = this.params;
      if (this.#typingTimer !== undefined) {
        clearTimeout(this.#typingTimer);
        this.#typingTimer = undefined;
        dropped("typing coalesced");
      }
      if (this.#joined) {
        this.#joined = false;
        const load = rooms.get(room);
        if (load !== undefined && --load.members <= 0) rooms.delete(room);
      }
      // Only a member shown as typing needs clearing: a room emptying at once (a storm of
      // leaves) must not broadcast to every remaining member for every leaving one.
      if (!this.#typing) return;
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
      if (!spend(this.params.room)) {
        dropped("room busy");
        return refuse("room busy: try again in a moment");
      }
      const message: ChatMessage = { type: "message", id, name: this.params.name, text, at: Date.now() };
      deps.onMessage?.(this.params.room, message);
      await this.broadcast(`chat:${this.params.room}`, message);
      // The page stops showing a sender as typing when its message arrives.
      this.#typing = false;
      this.#typingWanted = false;
      return { id, at: message.at };
    }

    /**
     * At most one broadcast per typing interval: a command sooner than that is folded into the
     * trailing broadcast already due (counted as coalesced), or schedules it.
     */
    async typing(data: Record<string, unknown>): Promise<void> {
      this.#typingWanted = data.typing === true;
      if (this.#typingTimer !== undefined) {
        dropped("typing coalesced");
        return;
      }
      const wait = this.#typingAt + typingInterval - Date.now();
      if (wait <= 0) return this.#sendTyping();
      this.#typingTimer = setTimeout(() => {
        this.#typingTimer = undefined;
        void this.#sendTyping().catch(() => {}); // a failed broadcast is reported by the cable
      }, wait);
    }

    /** Broadcast the latest typing state, unless it is already shown or the room is over budget. */
    async #sendTyping(): Promise<void> {
      const typing = this.#typingWanted;
      if (typing === this.#typing) {
        dropped("typing coalesced");
        return;
      }
      const { room, name, member } = this.params;
      if (!spend(room)) {
        dropped("room busy");
        return;
      }
      this.#typing = typing;
      this.#typingAt = Date.now();
      await this.broadcast(`typing:${room}`, { type: "typing", name, member, typing });
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
