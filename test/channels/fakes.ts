/** A fake CableTransport recording what the server sends, and helpers to drive a CableCore. */
import type { CableTransport } from "../../src/channels/transport.js";
import { type PreparedMessage, prepareMessage } from "../../src/node/index.js";

/** What CableServer passes: one object per prepared text, so sharing is observable. */
export const prepare = (text: string): PreparedMessage => prepareMessage(text);

export class FakeTransport implements CableTransport {
  readonly protocol: string;
  readonly sent: Array<string | PreparedMessage> = [];
  closedWith: { code?: number; reason?: string } | undefined;
  constructor(protocol = "actioncable-v1-json") {
    this.protocol = protocol;
  }
  send(data: string | PreparedMessage): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith ??= { code, reason };
  }
  /** Texts sent, decoded. */
  get texts(): string[] {
    return this.sent.map((d) => (typeof d === "string" ? d : Buffer.from(d.payload).toString("utf8")));
  }
  get messages(): Array<Record<string, unknown>> {
    return this.texts.map((t) => JSON.parse(t));
  }
  /** Messages other than welcome and ping. */
  get replies(): Array<Record<string, unknown>> {
    return this.messages.filter((m) => m.type !== "welcome" && m.type !== "ping");
  }
}

/** Let queued commands and their awaited callbacks run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export function subscribeCmd(identifier: string): string {
  return JSON.stringify({ command: "subscribe", identifier });
}
export function unsubscribeCmd(identifier: string): string {
  return JSON.stringify({ command: "unsubscribe", identifier });
}
export function performCmd(identifier: string, data: Record<string, unknown>): string {
  return JSON.stringify({ command: "message", identifier, data: JSON.stringify(data) });
}
