/**
 * Broadcasting names, as Rails builds them (channel/naming.rb, channel/broadcasting.rb):
 * `channelName("ChatChannel") === "chat"`, and `broadcastingFor("chat", post)` joins the channel
 * name and the model's global id param with ":" (e.g. `chat:Z2lkOi8vYXBwL1Bvc3QvMQ`), so a
 * Rails app and a wirecable server sharing a Redis name model streams identically.
 */

/** A model usable with streamFor / broadcastTo. */
export type Streamable =
  | string
  | number
  | bigint
  | { toGlobalId(): string | { toString(): string } }
  | { toParam(): string }
  | { id: string | number | bigint }
  | readonly Streamable[];

/** Rails' `channel_name`: strip a trailing "Channel", "::" -> ":", underscore. */
export function channelName(className: string): string {
  return className
    .replace(/Channel$/, "")
    .replace(/::/g, ":")
    .replace(/([A-Z\d]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/([a-z\d])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

/** Rails' `serialize_broadcasting`: arrays joined by ":", global ids as to_gid_param. */
export function serializeBroadcasting(model: Streamable): string {
  if (typeof model === "string") return model;
  if (typeof model === "number" || typeof model === "bigint") return String(model);
  if (Array.isArray(model)) return model.map((m) => serializeBroadcasting(m)).join(":");
  const obj = model as Record<string, unknown>;
  if (typeof obj.toGlobalId === "function") {
    // GlobalID#to_param: URL-safe base64 of "gid://app/Model/id", without padding.
    return Buffer.from(String((obj.toGlobalId as () => unknown)()), "utf8").toString("base64url");
  }
  if (typeof obj.toParam === "function") return String((obj.toParam as () => unknown)());
  if (obj.id !== undefined && obj.id !== null) return String(obj.id);
  throw new TypeError("cannot name a broadcasting for this model: give it toGlobalId(), toParam() or id");
}

export function broadcastingFor(channel: string, model: Streamable): string {
  return serializeBroadcasting([channel, model]);
}
