/**
 * brokerRelay: the fallback transport's relay (wirecable's FallbackRelay) on any Broker, so that
 * a POST landing on a process that does not own its session (node:cluster's round-robin, a load
 * balancer without sticky sessions) reaches the owner, across processes and machines, through
 * whatever already carries the broadcasts.
 *
 * Contract:
 * - Each process subscribes to one stream of its own, `\0wirecable/fallback/<id>` (an internal
 *   stream: no history is kept for it). A forwarded post is published on the owner's stream with
 *   a request number and the sender's id; the owner runs its handler and publishes the status on
 *   the sender's stream. `forward` resolves with that status, 504 after `timeout` ms without an
 *   answer (the client retries at the same offset), 503 when the publish failed.
 * - Bodies travel base64 in JSON; tokens never travel (only their SHA-256, see RelayedPost).
 * - What is not a relay message is ignored (only processes sharing the broker publish there).
 */
import { randomBytes } from "node:crypto";
import type { FallbackRelay, RelayedPost } from "../node/index.js";
import { type Broker, INTERNAL_STREAM_PREFIX } from "./brokers/broker.js";

export interface BrokerRelayOptions {
  /** This process's name in session ids. Default: 8 random characters. */
  id?: string;
  /** How long a forwarded post waits for its owner's answer, ms. Default 5 000. */
  timeout?: number;
}

interface PostMessage {
  k: "post";
  q: number;
  from: string;
  s: string;
  t: string;
  o: number;
  a?: number;
  b: string;
}

interface AnswerMessage {
  k: "answer";
  q: number;
  status: number;
}

const RELAY_STREAM = `${INTERNAL_STREAM_PREFIX}fallback/`;

function parse(payload: string): PostMessage | AnswerMessage | null {
  let m: unknown;
  try {
    m = JSON.parse(payload);
  } catch {
    return null;
  }
  const v = m as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null || typeof v.q !== "number") return null;
  if (v.k === "answer" && typeof v.status === "number") return v as unknown as AnswerMessage;
  if (
    v.k === "post" &&
    typeof v.from === "string" &&
    typeof v.s === "string" &&
    typeof v.t === "string" &&
    typeof v.o === "number" &&
    typeof v.b === "string" &&
    (v.a === undefined || typeof v.a === "number")
  ) {
    return v as unknown as PostMessage;
  }
  return null;
}

/** A FallbackRelay over `broker` (see the module comment). */
export function brokerRelay(broker: Broker, options: BrokerRelayOptions = {}): FallbackRelay {
  const id = options.id ?? randomBytes(6).toString("base64url");
  const timeout = options.timeout ?? 5000;
  const pending = new Map<number, (status: number) => void>();
  let next = 0;
  let handler: ((post: RelayedPost) => number | Promise<number>) | undefined;

  const reply = (to: string, q: number, status: number): void => {
    const answer: AnswerMessage = { k: "answer", q, status };
    broker.publish(RELAY_STREAM + to, JSON.stringify(answer)).catch(() => {});
  };

  const onMessage = (payload: string): void => {
    const message = parse(payload);
    if (message === null) return; // not from a relay of ours: ignored
    if (message.k === "answer") {
      const resolve = pending.get(message.q);
      pending.delete(message.q);
      resolve?.(message.status);
      return;
    }
    const serve = handler;
    if (serve === undefined) {
      reply(message.from, message.q, 404);
      return;
    }
    const post: RelayedPost = {
      session: message.s,
      tokenDigest: message.t,
      offset: message.o,
      ack: message.a,
      body: Buffer.from(message.b, "base64"),
    };
    Promise.resolve()
      .then(() => serve(post))
      .then(
        (status) => reply(message.from, message.q, status),
        () => reply(message.from, message.q, 500),
      );
  };

  // Live before the first forward or answer: both arrive on this stream.
  const subscribed = broker.subscribe(RELAY_STREAM + id, onMessage);
  subscribed.catch(() => {});

  return {
    id,
    async forward(owner, post) {
      try {
        await subscribed;
      } catch {
        return 503;
      }
      const q = ++next;
      const message: PostMessage = {
        k: "post",
        q,
        from: id,
        s: post.session,
        t: post.tokenDigest,
        o: post.offset,
        b: Buffer.from(post.body.buffer, post.body.byteOffset, post.body.byteLength).toString("base64"),
      };
      if (post.ack !== undefined) message.a = post.ack;
      return new Promise<number>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(q);
          resolve(504);
        }, timeout);
        timer.unref();
        pending.set(q, (status) => {
          clearTimeout(timer);
          resolve(status);
        });
        broker.publish(RELAY_STREAM + owner, JSON.stringify(message)).catch(() => {
          clearTimeout(timer);
          pending.delete(q);
          resolve(503);
        });
      });
    },
    serve(serveHandler) {
      handler = serveHandler;
      return () => {
        if (handler === serveHandler) handler = undefined;
      };
    },
  };
}
