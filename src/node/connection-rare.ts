/**
 * What a connection rarely needs, kept in one object made when first needed, so that an idle
 * connection that never closed, has no rate limit and was never asked for its address holds none:
 * its end (the close report, connection-close.ts, and the clock's closing times), the rate
 * limit's bucket, the transport's abort hook and the peer's address once read.
 *
 * Contract: a plain data holder; made by the connection (`??=`) the first time one of these is
 * set, whether for the close report or not, so `info === undefined` (not the object's absence)
 * says the engine has not closed.
 */
import type { ClockEnd } from "./connection-clock.js";
import { CloseReport } from "./connection-close.js";
import type { ConnectionInit, Transport } from "./connection-types.js";
import { TokenBucket } from "./rate-limiter.js";

export class RareState extends CloseReport implements ClockEnd {
  closeStartedAt = -1;
  transportClosing = -1;
  flushedAt = -1;
  /** The rate limit's (ConnectionOptions `rateLimit`). */
  bucket: TokenBucket | undefined = undefined;
  /** How the transport ends abnormally (ConnectionInit `abortTransport`); undefined: destroy(). */
  abort: ((transport: Transport) => void) | undefined = undefined;
  /** The peer's address: null until read from the transport ("": it had none). */
  remoteAddress: string | null = null;
}

/** The rare state a new connection starts with: null (the usual case) unless it has a rate limit, or its host gives an abort hook or the address. */
export function initialRare(init: ConnectionInit, now: number): RareState | null {
  const { rateLimit } = init.options;
  if (!rateLimit && init.abortTransport === undefined && init.remoteAddress === undefined) return null;
  const rare = new RareState();
  if (rateLimit) rare.bucket = new TokenBucket(rateLimit.messages, rateLimit.interval, now);
  rare.abort = init.abortTransport;
  rare.remoteAddress = init.remoteAddress ?? null;
  return rare;
}

/** Whether the transport close began (the connection's `closeTransport` stamped its time). */
export function transportClosing(rare: RareState | null): boolean {
  return rare !== null && rare.transportClosing !== -1;
}
