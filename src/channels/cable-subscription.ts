/**
 * One subscription of a connection, as the connection keeps it, and what it lends its channel:
 * streams (with their presence and backlog options), presence sessions, and the start of its
 * streams that keep history (prepare, then go: see stream-hub.ts).
 *
 * Contract: every stream, watcher and session a channel starts is recorded here, so removing
 * the subscription stops and leaves them all; a stream started after the confirmation (from an
 * action) starts at once, at the stream's current position.
 */
import type { HistoryRequest, WirePosition, WireResync } from "../cable/extensions.js";
import type { PresenceMember } from "./brokers/stream-presence.js";
import type { Channel, ChannelBinding, ChannelParams, StreamOptions } from "./channel.js";
import type { PresenceHub, PresenceWatcher } from "./presence-hub.js";
import type { Prepared, StreamHub, StreamListener } from "./stream-hub.js";
import type { CableTransport } from "./transport.js";

export interface Subscription {
  readonly identifier: string;
  readonly channel: Channel;
  readonly streams: Map<string, StreamListener>;
  /** `recent` of streamFrom, per stream (a backlog for a new subscriber). */
  readonly recent: Map<string, number>;
  /** Streams whose presence this subscriber watches, and its presence sessions per stream. */
  readonly watching: Map<string, PresenceWatcher>;
  readonly sessions: Map<string, string>;
  confirmed: boolean;
}

export function newSubscription(identifier: string, channel: Channel): Subscription {
  return {
    identifier,
    channel,
    streams: new Map(),
    recent: new Map(),
    watching: new Map(),
    sessions: new Map(),
    confirmed: false,
  };
}

export interface BindingDeps {
  readonly hub: StreamHub;
  readonly presence: PresenceHub;
  readonly transport: CableTransport;
  readonly ext: boolean;
  readonly identity: unknown;
  readonly params: ChannelParams;
  readonly channelName: string;
  isOpen(): boolean;
  newSession(): string;
  broadcast(stream: string, data: unknown): Promise<void>;
}

export function bindSubscription(sub: Subscription, deps: BindingDeps): ChannelBinding {
  const { hub, presence, transport, ext } = deps;
  return {
    identifier: sub.identifier,
    params: deps.params,
    identity: deps.identity,
    channelName: deps.channelName,
    streams: new Set<string>(),
    send: (text: string) => {
      if (deps.isOpen()) transport.send(text);
    },
    async streamFrom(stream: string, options: StreamOptions): Promise<void> {
      if (sub.streams.has(stream)) return;
      const listener: StreamListener = { identifier: sub.identifier, transport, callback: options.callback, ext };
      sub.streams.set(stream, listener);
      (this.streams as Set<string>).add(stream);
      if (options.recent !== undefined && options.recent > 0) sub.recent.set(stream, Math.floor(options.recent));
      const ready: Array<Promise<void>> = [hub.add(stream, listener)];
      if (options.presence === true && options.callback === undefined) {
        const watcher: PresenceWatcher = { identifier: sub.identifier, transport, ext };
        sub.watching.set(stream, watcher);
        ready.push(presence.watch(stream, watcher));
      }
      await Promise.all(ready);
      // Started after the confirmation (from an action): it starts now.
      if (sub.confirmed && sub.streams.get(stream) === listener && hub.keepsHistory(stream)) {
        hub.go(stream, listener, await hub.prepare(stream, listener));
      }
    },
    stopStream(stream: string): void {
      const listener = sub.streams.get(stream);
      if (listener === undefined) return;
      sub.streams.delete(stream);
      sub.recent.delete(stream);
      (this.streams as Set<string>).delete(stream);
      hub.remove(stream, listener);
      const watcher = sub.watching.get(stream);
      if (watcher !== undefined) {
        sub.watching.delete(stream);
        presence.unwatch(stream, watcher);
      }
    },
    stopAllStreams(): void {
      for (const stream of [...sub.streams.keys()]) this.stopStream(stream);
    },
    joinPresence(stream: string, member: PresenceMember) {
      let session = sub.sessions.get(stream);
      if (session === undefined) {
        session = deps.newSession();
        sub.sessions.set(stream, session);
      }
      const joined = presence.join(stream, session, member);
      joined.then(
        (result) => {
          if (result === "full") sub.sessions.delete(stream);
        },
        () => {},
      );
      return joined;
    },
    leavePresence(stream: string): Promise<void> {
      const session = sub.sessions.get(stream);
      if (session === undefined) return Promise.resolve();
      sub.sessions.delete(stream);
      return presence.leave(stream, session);
    },
    presenceOf: (stream: string) => presence.members(stream),
    broadcast: deps.broadcast,
  };
}

/**
 * Where each stream keeping history starts: from the client's position in `resume` (all of
 * them, or with `only` just the ones it names), else now (after any `recent` backlog).
 */
export async function prepareStreams(
  hub: StreamHub,
  sub: Subscription,
  resume: HistoryRequest | undefined,
  only = false,
): Promise<Map<string, Prepared>> {
  const prepared = new Map<string, Prepared>();
  for (const [stream, listener] of sub.streams) {
    if (!hub.keepsHistory(stream)) continue;
    const from = resume?.streams[stream];
    if (only && from === undefined) continue;
    prepared.set(stream, await hub.prepare(stream, listener, { resume: from, recent: sub.recent.get(stream) }));
  }
  return prepared;
}

/** The streams that could not be resumed, where each restarts (told before the messages). */
export function preparedResyncs(prepared: Map<string, Prepared>): Record<string, WireResync> | undefined {
  let resyncs: Record<string, WireResync> | undefined;
  for (const [stream, p] of prepared) {
    if (p.kind === "resync") (resyncs ??= {})[stream] = { ...p.position, reason: p.reason };
  }
  return resyncs;
}

/** Starts what was prepared; returns the streams whose live messages were lost meanwhile. */
export function startStreams(
  hub: StreamHub,
  sub: Subscription,
  prepared: Map<string, Prepared>,
): Record<string, WireResync> | undefined {
  let resyncs: Record<string, WireResync> | undefined;
  for (const [stream, p] of prepared) {
    const listener = sub.streams.get(stream);
    if (listener === undefined) continue;
    const failed = hub.go(stream, listener, p);
    if (failed !== undefined) (resyncs ??= {})[stream] = { ...failed.position, reason: failed.reason };
  }
  return resyncs;
}

/** The positions fresh streams start from (for the extensions' confirmation). */
export function startPositions(prepared: Map<string, Prepared>): Record<string, WirePosition> {
  const starts: Record<string, WirePosition> = {};
  for (const [stream, p] of prepared) if (p.kind === "start") starts[stream] = p.position;
  return starts;
}

/** Every presence session of the subscription leaves. */
export function leavePresence(
  presence: PresenceHub,
  sub: Subscription,
  report: (stream: string, err: unknown) => void,
): void {
  for (const [stream, session] of sub.sessions) presence.leave(stream, session).catch((err) => report(stream, err));
  sub.sessions.clear();
}
