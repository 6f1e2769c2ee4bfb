/**
 * Stream history on NATS JetStream (the capability of stream-history.ts), for NatsBroker.
 *
 * Contract (historyContract in test/channels/broker-capabilities.ts):
 * - Two JetStream streams per broker prefix: the LOG (`${prefix}.h.<token>` subjects, the last
 *   `limit` messages per subject, each kept `ttl`) and the META (`${prefix}.m.<token>`, one
 *   message per subject: the stream's epoch and last offset, kept a day after the last publish,
 *   so a stream whose messages expired keeps its position).
 * - `append` (one at a time per stream in a process) publishes on the LOG subject with headers `Wirecable-Epoch` and `Wirecable-Offset`
 *   (last offset + 1) and JetStream's expected last subject sequence: the publish is accepted only
 *   if nobody appended since this process read the tail, so offsets are dense and the LOG's order
 *   is the offset order, across processes; a conflict re-reads the tail and retries. The LOG
 *   republishes every message it stored, in its order, with its headers, on
 *   `${prefix}.hr.<token>` (JetStream's RePublish): subscribers listen there, so they never see a
 *   publish that lost its race (core subscribers of the LOG subject itself would), and get the
 *   stream's order. The META is then raised to the new offset (compare-and-set, never lowered).
 * - `position` of a stream with nothing anywhere stores a new epoch at offset 0 in the META
 *   (compare-and-set), so every process and the next append agree on it.
 * - `since`/`recent` read the LOG subject's retained messages (direct gets, one per message; the
 *   stream's message API where direct gets go unanswered: nats-jetstream.ts readMessage).
 */
import {
  isLostRace,
  type JetStreamAccess,
  jetStreamName,
  jetStreamSetup,
  type NatsJetStreamDeps,
} from "./nats-jetstream.js";
import {
  type HistoryOptions,
  type HistoryRead,
  newEpoch,
  type ResolvedHistoryOptions,
  readSince,
  resolveHistoryOptions,
  type StreamEntry,
  type StreamHistory,
  type StreamPosition,
} from "./stream-history.js";

export const EPOCH_HEADER = "Wirecable-Epoch";
export const OFFSET_HEADER = "Wirecable-Offset";

/** How long an idle stream keeps its epoch and offset (ms). */
const META_TTL = 24 * 60 * 60_000;
/** Compare-and-set attempts before an append gives up (each lost race means another append won). */
const MAX_ATTEMPTS = 100;

interface Tail extends StreamPosition {
  /** JetStream sequence of the last LOG message of the subject, 0 when it has none. */
  readonly seq: number;
}

/**
 * @internal NatsBroker's wiring (its connection and the peers' modules): internal, so the
 * published types never name the optional peers' types.
 */
export interface NatsHistoryOptions extends NatsJetStreamDeps {
  history: HistoryOptions;
}

export class NatsHistory implements StreamHistory {
  readonly limit: number;
  readonly ttl: number;
  readonly #options: ResolvedHistoryOptions;
  readonly #o: NatsHistoryOptions;
  readonly #log: string;
  readonly #meta: string;
  /** Last known tail per stream (refreshed when an append loses a race). */
  readonly #tails = new Map<string, Tail>();
  /** This process's appends run one at a time per stream: races are only between processes. */
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #setup: () => Promise<JetStreamAccess>;

  /** @internal Made by NatsBroker (see NatsHistoryOptions). */
  constructor(options: NatsHistoryOptions) {
    this.#options = resolveHistoryOptions(options.history);
    this.limit = this.#options.limit;
    this.ttl = this.#options.ttl;
    this.#o = options;
    this.#log = jetStreamName("LOG", options);
    this.#meta = jetStreamName("META", options);
    const prefix = options.prefix;
    this.#setup = jetStreamSetup(options, (nats) => [
      {
        name: this.#log,
        subjects: [`${prefix}.h.>`],
        max_msgs_per_subject: this.limit,
        max_age: nats.nanos(this.ttl),
        allow_direct: true,
        republish: { src: `${prefix}.h.>`, dest: `${prefix}.hr.>` },
      },
      {
        name: this.#meta,
        subjects: [`${prefix}.m.>`],
        max_msgs_per_subject: 1,
        max_age: nats.nanos(Math.max(META_TTL, 2 * this.ttl)),
        allow_direct: true,
      },
    ]);
  }

  keeps(stream: string): boolean {
    return this.#options.streams(stream);
  }

  /** The LOG subject of a stream (where appends are published). */
  subjectOf(stream: string): string {
    return `${this.#o.prefix}.h.${this.#o.token(stream)}`;
  }

  /** Where the LOG republishes what it stored: what subscribers of a history stream listen to. */
  deliverySubject(stream: string): string {
    return `${this.#o.prefix}.hr.${this.#o.token(stream)}`;
  }

  #metaSubject(stream: string): string {
    return `${this.#o.prefix}.m.${this.#o.token(stream)}`;
  }

  append(stream: string, payload: string): Promise<StreamPosition> {
    const previous = this.#queues.get(stream) ?? Promise.resolve();
    const next = previous.then(
      () => this.#append(stream, payload),
      () => this.#append(stream, payload),
    );
    this.#queues.set(stream, next);
    const cleanup = () => {
      if (this.#queues.get(stream) === next) this.#queues.delete(stream);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  async #append(stream: string, payload: string): Promise<StreamPosition> {
    const { js, nats } = await this.#setup();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const tail = this.#tails.get(stream) ?? (await this.#tail(stream, true));
      const next: StreamPosition = { epoch: tail.epoch, offset: tail.offset + 1 };
      const h = nats.headers();
      h.set(EPOCH_HEADER, next.epoch);
      h.set(OFFSET_HEADER, String(next.offset));
      try {
        const ack = await js.publish(this.subjectOf(stream), payload, {
          headers: h,
          expect: { lastSubjectSequence: tail.seq },
        });
        this.#tails.set(stream, { ...next, seq: ack.seq });
        await this.#raiseMeta(stream, next);
        return next;
      } catch (err) {
        this.#tails.delete(stream);
        if (!isLostRace(err)) throw err;
      }
    }
    throw new Error(`history append on ${stream}: lost ${MAX_ATTEMPTS} races in a row`);
  }

  async position(stream: string): Promise<StreamPosition> {
    const { epoch, offset } = await this.#tail(stream, true);
    return { epoch, offset };
  }

  async since(stream: string, since: StreamPosition): Promise<HistoryRead> {
    const tail = await this.#tail(stream, true);
    const entries = tail.seq === 0 ? [] : await this.#read(stream, tail);
    return readSince({ epoch: tail.epoch, offset: tail.offset }, entries, since);
  }

  async recent(stream: string, count: number): Promise<{ entries: readonly StreamEntry[]; position: StreamPosition }> {
    const tail = await this.#tail(stream, true);
    const entries = tail.seq === 0 ? [] : await this.#read(stream, tail);
    return {
      entries: entries.slice(Math.max(0, entries.length - Math.max(0, count))),
      position: { epoch: tail.epoch, offset: tail.offset },
    };
  }

  /** The stream's tail: its last LOG message, or the META, or (`create`) a new epoch in the META. */
  async #tail(stream: string, create: boolean): Promise<Tail> {
    const { read } = await this.#setup();
    const last = await read(this.#log, { last_by_subj: this.subjectOf(stream) });
    if (last !== null) {
      const epoch = last.header.get(EPOCH_HEADER);
      const offset = Number(last.header.get(OFFSET_HEADER));
      if (epoch !== "" && Number.isSafeInteger(offset)) return { epoch, offset, seq: last.seq };
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const meta = await this.#readMeta(stream);
      if (meta !== undefined) return { epoch: meta.epoch, offset: meta.offset, seq: 0 };
      if (!create) break;
      // Nothing anywhere: store a new epoch at offset 0 unless another process just did.
      if (await this.#writeMeta(stream, { epoch: newEpoch(), offset: 0 }, 0)) continue;
    }
    throw new Error(`history of ${stream}: could not read or create its epoch`);
  }

  async #readMeta(stream: string): Promise<(StreamPosition & { seq: number }) | undefined> {
    const { read } = await this.#setup();
    const m = await read(this.#meta, { last_by_subj: this.#metaSubject(stream) });
    if (m === null) return undefined;
    const offset = Number(m.header.get(OFFSET_HEADER));
    const epoch = m.header.get(EPOCH_HEADER);
    return epoch === "" || !Number.isSafeInteger(offset) ? undefined : { epoch, offset, seq: m.seq };
  }

  /** Compare-and-set of the META: true when written, false when another write came first. */
  async #writeMeta(stream: string, position: StreamPosition, expectSeq: number): Promise<boolean> {
    const { js, nats } = await this.#setup();
    const h = nats.headers();
    h.set(EPOCH_HEADER, position.epoch);
    h.set(OFFSET_HEADER, String(position.offset));
    try {
      await js.publish(this.#metaSubject(stream), "", { headers: h, expect: { lastSubjectSequence: expectSeq } });
      return true;
    } catch (err) {
      if (isLostRace(err)) return false;
      throw err;
    }
  }

  /** Raises the META to `position` (never lowers it; retried while other appends race). */
  async #raiseMeta(stream: string, position: StreamPosition): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const meta = await this.#readMeta(stream);
      if (meta !== undefined && meta.epoch === position.epoch && meta.offset >= position.offset) return;
      if (await this.#writeMeta(stream, position, meta?.seq ?? 0)) return;
    }
  }

  /** The retained LOG messages of the stream's current epoch, oldest first. */
  async #read(stream: string, tail: Tail): Promise<StreamEntry[]> {
    const { read } = await this.#setup();
    const subject = this.subjectOf(stream);
    const entries: StreamEntry[] = [];
    for (let seq = 1; seq <= tail.seq && entries.length <= this.limit; ) {
      const m = await read(this.#log, { seq, next_by_subj: subject });
      if (m === null || m.seq > tail.seq) break;
      const epoch = m.header.get(EPOCH_HEADER);
      const offset = Number(m.header.get(OFFSET_HEADER));
      if (epoch === tail.epoch && Number.isSafeInteger(offset)) entries.push({ payload: m.string(), epoch, offset });
      seq = m.seq + 1;
    }
    return entries;
  }
}
