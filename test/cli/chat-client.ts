/**
 * A chat participant for tests: wirecable's ActionCable consumer (src/client) in Node, over the
 * `ws` package's WebSocket (an implementation independent of the server under test; the
 * Chromium and @rails/actioncable tests cover the other clients).
 */
import WS from "ws";
import {
  type Consumer,
  type ConsumerOptions,
  createConsumer,
  type PresenceChange,
  type Subscription,
  type WebSocketConstructorLike,
} from "../../src/client/index.js";
import { CLI_BOUND } from "./helpers.js";

export type ChatEvent = { type: string; [key: string]: unknown };

export interface ChatClient {
  readonly events: ChatEvent[];
  readonly subscription: Subscription;
  readonly consumer: Consumer;
  /** How many times the subscription was confirmed (1 unless it reconnected). */
  connects(): number;
  connected: Promise<void>;
  /** An acknowledged `speak`; its reply (or AckError) is in `replies` under the returned id. */
  speak(text: string, id?: string): string;
  readonly replies: Map<string, Promise<unknown>>;
  typing(on: boolean): void;
  waitFor(predicate: (e: ChatEvent) => boolean, timeout?: number): Promise<ChatEvent>;
  messages(): string[];
  close(): void;
}

let counter = 0;

export function cableUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, "ws")}/cable`;
}

export function joinChat(
  httpUrl: string,
  room: string,
  name: string,
  origin?: string,
  options: ConsumerOptions = {},
): ChatClient {
  const WebSocket = class extends WS {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, origin ? { origin } : {});
    }
  } as unknown as WebSocketConstructorLike;
  const consumer = createConsumer(cableUrl(httpUrl), { WebSocket, initialDelay: 100, maxDelay: 500, ...options });
  const events: ChatEvent[] = [];
  let onConnected!: () => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const waiters = new Set<() => void>();
  const replies = new Map<string, Promise<unknown>>();
  let connects = 0;
  const subscription = consumer.subscriptions.create(
    { channel: "ChatChannel", room, name },
    {
      connected: () => {
        connects++;
        onConnected();
      },
      received(data: unknown) {
        events.push(data as ChatEvent);
        for (const w of [...waiters]) w();
      },
      // Presence (the extensions): recorded as `{ type: "presence", event, count, joined, left,
      // members }` with member names, so tests read it like the other events.
      presence(change: PresenceChange) {
        const name = (info: unknown) => String((info as { name?: unknown } | null)?.name);
        events.push({
          type: "presence",
          event: change.type,
          count: change.total,
          joined: change.joins.map((j) => name(j.info)),
          left: change.leaves.map((l) => name(l.info)),
          members: [...change.members.values()].map(name).sort(),
        });
        for (const w of [...waiters]) w();
      },
      rejected() {
        events.push({ type: "rejected" });
        for (const w of [...waiters]) w();
      },
    },
  );
  return {
    events,
    subscription,
    consumer,
    connects: () => connects,
    connected,
    replies,
    speak(text, id = `t${process.pid}x${++counter}`) {
      const reply = subscription.perform("speak", { id, text }, { ack: true });
      reply.catch(() => {}); // read through `replies` when the test cares
      replies.set(id, reply);
      return id;
    },
    typing(on) {
      subscription.perform("typing", { typing: on });
    },
    waitFor(predicate, timeout = CLI_BOUND) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = events.find(predicate);
          if (found) {
            waiters.delete(waiter);
            clearTimeout(timer);
            resolve(found);
            return true;
          }
          return false;
        };
        const waiter = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out; events: ${JSON.stringify(events).slice(-600)}`));
        }, timeout);
        waiters.add(waiter);
        check();
      });
    },
    messages: () => events.filter((e) => e.type === "message").map((e) => String(e.text)),
    close: () => consumer.disconnect(),
  };
}
