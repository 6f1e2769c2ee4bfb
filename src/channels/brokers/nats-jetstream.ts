/**
 * What NatsBroker's JetStream capabilities share (history: nats-history.ts, presence:
 * nats-presence.ts, dedup: nats-dedup.ts): the connection and the two optional peers, the
 * JetStream streams each one keeps (created or updated once, on first use, retried after a
 * failure), a stream name per broker prefix, and compare-and-set publishes.
 *
 * Compare-and-set: every capability keeps one message per subject (`max_msgs_per_subject: 1` or
 * a history's `limit`) and writes with JetStream's expected last subject sequence, so a write
 * based on a stale read is refused (`isLostRace`) and the writer reads again.
 */
import type { NatsConnection } from "@nats-io/transport-node";

type JetStreamModule = typeof import("@nats-io/jetstream");
export type NatsModule = typeof import("@nats-io/transport-node");
export type JetStreamManager = Awaited<ReturnType<JetStreamModule["jetstreamManager"]>>;
export type JetStreamClient = ReturnType<JetStreamModule["jetstream"]>;
export type StreamConfig = Parameters<JetStreamManager["streams"]["add"]>[0] & { name: string };
export type StoredMsg = Awaited<ReturnType<JetStreamManager["direct"]["getMessage"]>>;
export type MsgQuery = Parameters<JetStreamManager["direct"]["getMessage"]>[1];

/** The connection and peers a capability needs (NatsBroker passes its own). */
export interface NatsJetStreamDeps {
  prefix: string;
  /** The stream's subject token (nats.ts: subjectToken). */
  token(stream: string): string;
  /** The connection that publishes (not the noEcho one: its subscribers must get the appends). */
  connection(): Promise<NatsConnection>;
  nats: Promise<NatsModule>;
  jetstream: Promise<JetStreamModule>;
  /** How long a JetStream API request waits for its answer (ms); undefined: the client's default. */
  requestTimeout?: number | undefined;
}

export interface JetStreamAccess {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly nats: NatsModule;
  readonly nc: NatsConnection;
  /** One stored message of `stream` (null: none): `readMessage` with this access's managers. */
  read(stream: string, query: MsgQuery): Promise<StoredMsg>;
}

/**
 * How long a direct get waits before the same read goes through the stream's API (ms), at most:
 * a shorter request timeout given is kept.
 */
export const DIRECT_GET_TIMEOUT = 2000;

/**
 * One stored message, by a direct get (any replica answers, `allow_direct`), else through the
 * stream's message API when the direct get is not answered; a stream whose direct get went
 * unanswered once is read through the API from then on (`apiOnly`, kept per broker). nats-server
 * 2.9 (Debian bookworm's) drops a direct get that no stream takes, with no "no responders" status
 * (its `$JS.API.>` import has interest in every API subject), so the request waits out its whole
 * timeout; in the test suite one was lost while two processes created the same stream at once
 * (why is not proven: 2.9 lacks nats-server#4013's guard against simultaneous creates). `direct`
 * is a manager with the short `DIRECT_GET_TIMEOUT`, `jsm` the one with the broker's request
 * timeout (the API read has a whole one of its own). Every read here is followed by a
 * compare-and-set write or is a plain read, so an answer that comes late is simply not used.
 */
export async function readMessage(
  direct: JetStreamManager,
  jsm: JetStreamManager,
  stream: string,
  query: MsgQuery,
  apiOnly: Set<string> = new Set(),
): Promise<StoredMsg> {
  if (!apiOnly.has(stream)) {
    try {
      return await direct.direct.getMessage(stream, query);
    } catch (err) {
      if (!unanswered(err)) throw err;
      apiOnly.add(stream);
    }
  }
  // The API takes these queries (last_by_subj, seq, and seq with next_by_subj since nats-server
  // 2.9; not start_time, which no caller sends); its type does not list next_by_subj.
  return await jsm.streams.getMessage(stream, query as Parameters<JetStreamManager["streams"]["getMessage"]>[1]);
}

/** A request that got no answer: nats.js's TimeoutError, or its RequestError for "no responders". */
function unanswered(err: unknown): boolean {
  const e = err as { name?: string; cause?: { name?: string } } | null;
  return e?.name === "TimeoutError" || (e?.name === "RequestError" && e.cause?.name === "NoResponders");
}

/** JetStream's "wrong last sequence" API error: a compare-and-set lost its race. */
const WRONG_LAST_SEQUENCE = 10071;
/** JetStream's "stream name already in use with a different configuration". */
const STREAM_EXISTS_DIFFERENTLY = 10058;
/**
 * JetStream's "subjects overlap with an existing stream": another stream's subjects, or the same
 * stream created by another process a moment earlier (a server answers two simultaneous creates
 * of one stream so: it registers the first between the second's checks).
 */
const SUBJECTS_OVERLAP = 10065;
/** JetStream's "stream not found". */
const STREAM_NOT_FOUND = 10059;

/** Whether a publish failed only because another write to the subject came first. */
export function isLostRace(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === WRONG_LAST_SEQUENCE;
}

/** `WIRECABLE_<KIND>_<prefix>`: a JetStream stream name (letters, digits, `_`, `-`) per prefix. */
export function jetStreamName(kind: string, deps: NatsJetStreamDeps): string {
  const name = deps.token(deps.prefix).replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
  return `WIRECABLE_${kind}_${name}`;
}

/** What to update an existing stream to, from its configuration and the wanted one. */
export type StreamMerge = (existing: StreamConfig, wanted: StreamConfig) => StreamConfig;

/**
 * A function returning the JetStream access once `configs` (the capability's streams) exist:
 * created on the first call, updated when they exist with another configuration (another
 * version or options: to `merge(existing, wanted)`, by default `wanted`), a failure retried by
 * the next call.
 */
export function jetStreamSetup(
  deps: NatsJetStreamDeps,
  configs: (nats: NatsModule) => StreamConfig[],
  merge?: StreamMerge,
): () => Promise<JetStreamAccess> {
  let ready: Promise<JetStreamAccess> | undefined;
  return () => {
    ready ??= (async () => {
      const [nc, jsmod, nats] = await Promise.all([deps.connection(), deps.jetstream, deps.nats]);
      const opts = deps.requestTimeout === undefined ? {} : { timeout: deps.requestTimeout };
      const jsm = await jsmod.jetstreamManager(nc, opts);
      for (const config of configs(nats)) await ensureStream(jsm, config, merge);
      const timeout = Math.min(DIRECT_GET_TIMEOUT, deps.requestTimeout ?? DIRECT_GET_TIMEOUT);
      const direct = await jsmod.jetstreamManager(nc, { timeout, checkAPI: false });
      const apiOnly = new Set<string>();
      const read = (stream: string, query: MsgQuery) => readMessage(direct, jsm, stream, query, apiOnly);
      return { js: jsmod.jetstream(nc, opts), jsm, nats, nc, read };
    })();
    ready.catch(() => {
      ready = undefined;
    });
    return ready;
  };
}

/**
 * Creates the stream, or updates it (to `merge(existing, config)`) when it exists with another
 * configuration. Several processes may start at once: when a create is refused for overlapping
 * subjects and the stream of that name exists (another process's create won the race), it is
 * updated alike; an overlap with another stream's subjects is the error it is.
 */
export async function ensureStream(jsm: JetStreamManager, config: StreamConfig, merge?: StreamMerge): Promise<void> {
  let existing: StreamConfig | undefined;
  try {
    await jsm.streams.add(config);
    return;
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === SUBJECTS_OVERLAP) {
      existing = await streamConfig(jsm, config.name);
      if (existing === undefined) throw err;
    } else if (code !== STREAM_EXISTS_DIFFERENTLY) throw err;
  }
  if (merge !== undefined) existing ??= (await jsm.streams.info(config.name)).config as StreamConfig;
  await jsm.streams.update(
    config.name,
    existing === undefined || merge === undefined ? config : merge(existing, config),
  );
}

/** The configuration of the stream `name`, undefined when there is none. */
async function streamConfig(jsm: JetStreamManager, name: string): Promise<StreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config as StreamConfig;
  } catch (err) {
    if ((err as { code?: number }).code === STREAM_NOT_FOUND) return undefined;
    throw err;
  }
}
