/**
 * Liveness of an open connection, at the application level (browsers cannot send ping frames).
 * Two independent, optional checks:
 * - heartbeat: after `interval` ms without receiving anything, send `message` and expect a
 *   reply within `timeout` ms ("any" incoming message, an exact string, or a predicate);
 * - staleTimeout: nothing at all received for that long (suits servers that ping on their own,
 *   like ActionCable's every 3 s).
 * Either failing calls `onStale`. Timers are re-armed lazily (on expiry, for the remaining
 * time) rather than on every message, so a busy connection costs no timer churn.
 */
import type { Clock, HeartbeatOptions, Sendable } from "./types.js";

export interface LivenessHooks {
  send(message: Sendable): void;
  onStale(reason: string): void;
}

interface ResolvedHeartbeat {
  interval: number;
  timeout: number;
  message: string | (() => Sendable);
  reply: "any" | string | ((data: unknown) => boolean);
}

export class Liveness {
  readonly #clock: Clock;
  readonly #heartbeat: ResolvedHeartbeat | null;
  readonly #staleTimeout: number;
  readonly #hooks: LivenessHooks;
  #running = false;
  #lastReceived = 0;
  #idleTimer: unknown = null;
  #replyTimer: unknown = null;
  #staleTimer: unknown = null;

  constructor(
    clock: Clock,
    heartbeat: HeartbeatOptions | false | undefined,
    staleTimeout: number,
    hooks: LivenessHooks,
  ) {
    this.#clock = clock;
    this.#hooks = hooks;
    this.#staleTimeout = staleTimeout;
    this.#heartbeat = heartbeat
      ? {
          interval: heartbeat.interval ?? 25_000,
          timeout: heartbeat.timeout ?? 10_000,
          message: heartbeat.message ?? "ping",
          reply: heartbeat.reply ?? "any",
        }
      : null;
    if (this.#heartbeat && !(this.#heartbeat.interval > 0 && this.#heartbeat.timeout > 0)) {
      throw new RangeError("heartbeat.interval and heartbeat.timeout must be > 0");
    }
    if (!(staleTimeout >= 0)) throw new RangeError(`staleTimeout must be >= 0, got ${staleTimeout}`);
  }

  get enabled(): boolean {
    return this.#heartbeat !== null || this.#staleTimeout > 0;
  }

  /** Whether a heartbeat was sent and its reply is still awaited. */
  get awaitingReply(): boolean {
    return this.#replyTimer !== null;
  }

  start(): void {
    this.stop();
    this.#running = true;
    this.#lastReceived = this.#clock.now();
    if (this.#heartbeat) this.#armIdle(this.#heartbeat.interval);
    if (this.#staleTimeout > 0) this.#armStale(this.#staleTimeout);
  }

  stop(): void {
    this.#running = false;
    for (const t of [this.#idleTimer, this.#replyTimer, this.#staleTimer]) if (t !== null) this.#clock.clearTimeout(t);
    this.#idleTimer = this.#replyTimer = this.#staleTimer = null;
  }

  /** Record an incoming message. Returns true if it was the heartbeat reply and must not be delivered. */
  received(data: unknown): boolean {
    if (!this.#running) return false;
    this.#lastReceived = this.#clock.now();
    const hb = this.#heartbeat;
    if (!hb) return false;
    const isReply = typeof hb.reply === "function" ? hb.reply(data) : hb.reply !== "any" && data === hb.reply;
    if (isReply || (hb.reply === "any" && this.#replyTimer !== null)) this.#clearReply();
    return isReply;
  }

  /** A check on demand (the page became visible): stale now, or send a probe now. */
  check(): void {
    if (!this.#running) return;
    if (this.#staleTimeout > 0 && this.#clock.now() - this.#lastReceived >= this.#staleTimeout) {
      this.#fail(`nothing received for ${this.#staleTimeout} ms`);
      return;
    }
    if (this.#heartbeat && this.#replyTimer === null) this.#probe();
  }

  #armIdle(ms: number): void {
    this.#idleTimer = this.#clock.setTimeout(() => {
      this.#idleTimer = null;
      if (!this.#running || !this.#heartbeat) return;
      const idle = this.#clock.now() - this.#lastReceived;
      if (idle >= this.#heartbeat.interval) {
        if (this.#replyTimer === null) this.#probe();
        this.#armIdle(this.#heartbeat.interval);
      } else {
        this.#armIdle(this.#heartbeat.interval - idle);
      }
    }, ms);
  }

  #armStale(ms: number): void {
    this.#staleTimer = this.#clock.setTimeout(() => {
      this.#staleTimer = null;
      if (!this.#running) return;
      const idle = this.#clock.now() - this.#lastReceived;
      if (idle >= this.#staleTimeout) this.#fail(`nothing received for ${this.#staleTimeout} ms`);
      else this.#armStale(this.#staleTimeout - idle);
    }, ms);
  }

  #probe(): void {
    const hb = this.#heartbeat!;
    this.#replyTimer = this.#clock.setTimeout(() => {
      this.#replyTimer = null;
      if (this.#running) this.#fail(`no heartbeat reply within ${hb.timeout} ms`);
    }, hb.timeout);
    this.#hooks.send(typeof hb.message === "function" ? hb.message() : hb.message);
  }

  #clearReply(): void {
    if (this.#replyTimer !== null) this.#clock.clearTimeout(this.#replyTimer);
    this.#replyTimer = null;
  }

  #fail(reason: string): void {
    this.stop();
    this.#hooks.onStale(reason);
  }
}
