/** Channels used by the cable unit tests, and a CableCore factory with a fake transport. */

import type { CableError } from "../../src/cable/errors.js";
import { CableCore, type CableCoreOptions } from "../../src/channels/cable-core.js";
import { Channel, type ChannelParams } from "../../src/channels/channel.js";
import { FakeTransport, flush, prepare } from "./fakes.js";

export const events: string[] = [];

export class ChatChannel extends Channel<{ name: string } | undefined, { channel: string; room: string }> {
  override subscribed(params: { room: string }): void {
    events.push(`subscribed:${params.room}`);
    if (params.room === "secret") {
      this.reject();
      return;
    }
    this.streamFrom(`chat_${params.room}`);
  }
  override unsubscribed(): void {
    events.push(`unsubscribed:${this.params.room}`);
  }
  speak(data: Record<string, unknown>): void {
    events.push(`speak:${JSON.stringify(data)}`);
    void this.broadcast(`chat_${this.params.room}`, { text: data.text, user: this.identity?.name ?? null });
  }
  echo(data: Record<string, unknown>): void {
    this.transmit({ echo: data.value });
  }
  receive(data: Record<string, unknown>): void {
    events.push(`receive:${JSON.stringify(data)}`);
  }
  whoami(): void {
    this.transmit({ identity: this.identity ?? null });
  }
  fail(): void {
    throw new Error("action failed");
  }
  _hidden(): void {
    events.push("hidden called");
  }
}

export class PostChannel extends Channel {
  static override params = (p: ChannelParams) => typeof p.id === "number" && { ...p, id: p.id, checked: true };
  override subscribed(): void {
    this.streamFor({ toGlobalId: () => `gid://app/Post/${this.params.id}` });
    events.push(`post:${JSON.stringify(this.params)}`);
  }
}

export class BrokenChannel extends Channel {
  override subscribed(): void {
    throw new Error("subscribed failed");
  }
}

export const objectChannel = {
  subscribed(this: Channel) {
    void this.streamFrom("objects", (message) => this.transmit({ relayed: message }));
  },
  ping(this: Channel) {
    this.transmit("pong");
  },
};

export function makeCore(options: Partial<CableCoreOptions> = {}) {
  const errors: CableError[] = [];
  const core = new CableCore({
    channels: { ChatChannel, PostChannel, BrokenChannel, ObjectChannel: objectChannel },
    prepare,
    pingInterval: 0,
    ...options,
  });
  core.on("error", (err: CableError) => errors.push(err));
  async function connect(request?: { headers: Record<string, string>; url?: string }) {
    const transport = new FakeTransport();
    const connection = core.accept(transport, request);
    await flush();
    return { transport, connection };
  }
  return { core, errors, connect };
}

export const chatId = (room: string) => JSON.stringify({ channel: "ChatChannel", room });
