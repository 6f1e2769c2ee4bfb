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

/** The connection and peers a capability needs (NatsBroker passes its own). */
export interface NatsJetStreamDeps {
  prefix: string;
  /** The stream's subject token (nats.ts: subjectToken). */
  token(stream: string): string;
  /** The connection that publishes (not the noEcho one: its subscribers must get the appends). */
  connection(): Promise<NatsConnection>;
  nats: Promise<NatsModule>;
  jetstream: Promise<JetStreamModule>;
}

export interface JetStreamAccess {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly nats: NatsModule;
  readonly nc: NatsConnection;
}

/** JetStream's "wrong last sequence" API error: a compare-and-set lost its race. */
const WRONG_LAST_SEQUENCE = 10071;
/** JetStream's "stream name already in use with a different configuration". */
const STREAM_EXISTS_DIFFERENTLY = 10058;

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
      const jsm = await jsmod.jetstreamManager(nc);
      for (const config of configs(nats)) await ensureStream(jsm, config, merge);
      return { js: jsmod.jetstream(nc), jsm, nats, nc };
    })();
    ready.catch(() => {
      ready = undefined;
    });
    return ready;
  };
}

/** Creates the stream, or updates it (to `merge(existing, config)`) when it exists with another configuration. */
export async function ensureStream(jsm: JetStreamManager, config: StreamConfig, merge?: StreamMerge): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (err) {
    if ((err as { code?: number }).code !== STREAM_EXISTS_DIFFERENTLY) throw err;
    const existing = merge === undefined ? undefined : (await jsm.streams.info(config.name)).config;
    await jsm.streams.update(
      config.name,
      existing === undefined || merge === undefined ? config : merge(existing as StreamConfig, config),
    );
  }
}
