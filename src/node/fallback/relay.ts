/**
 * Cross-process delivery of the fallback's upstream POSTs. A session lives in the process whose
 * server answered its `open` (its downstream is that process's response); with several
 * processes behind one port (node:cluster hands connections out round-robin) or one load
 * balancer, the next POST may land anywhere. The process that gets a POST for a session it does
 * not own hands it to the owner through a relay, and answers with the owner's status.
 *
 * Contract of a {@link FallbackRelay}:
 * - `id` names this process in the ids of the sessions it opens (URL-safe: letters, digits, `-`,
 *   `_`; unique among the processes that share the relay).
 * - `forward(owner, post)` delivers `post` to the process named `owner` and resolves with the
 *   HTTP status its handler answered; with 504 when no process answered in time (the client
 *   retries at the same offset: nothing is delivered twice), 503 when it could not be sent. It
 *   never rejects.
 * - `serve(handler)` registers this process's handler of forwarded posts; the returned function
 *   unregisters it.
 * The channels layer builds one on any Broker (`brokerRelay` in wirecable/channels), which is how
 * CableServer and `wirecable serve --workers` route them.
 */
import { createHash } from "node:crypto";

/**
 * An upstream POST on its way to the process that owns its session. It carries the token's
 * SHA-256 (base64url), never the token: whatever carries it (a broker) learns no secret.
 */
export interface RelayedPost {
  session: string;
  tokenDigest: string;
  /** Upstream offset of the body's first byte. */
  offset: number;
  /** Downstream events the client has received (wirecable-ack), if it said. */
  ack: number | undefined;
  body: Uint8Array;
}

export interface FallbackRelay {
  readonly id: string;
  forward(owner: string, post: RelayedPost): Promise<number>;
  serve(handler: (post: RelayedPost) => number | Promise<number>): () => void;
}

const PROCESS_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Whether `id` can name a process in session ids. */
export function isProcessId(id: unknown): id is string {
  return typeof id === "string" && PROCESS_ID.test(id);
}

/** The SHA-256 of a session token, base64url: what a relayed post carries instead of the token. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
