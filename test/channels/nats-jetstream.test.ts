/**
 * ensureStream (src/channels/brokers/nats-jetstream.ts) over a stand-in JetStreamManager: a
 * stream created or updated to `merge(existing, wanted)`; a create refused for overlapping
 * subjects because another process's create of the same stream won is an update alike; an
 * overlap with another stream is the error. The real server's race: broker-nats.test.ts. And
 * readMessage: a direct get not answered is read again through the stream's message API.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DIRECT_GET_TIMEOUT,
  ensureStream,
  type JetStreamManager,
  jetStreamSetup,
  type NatsJetStreamDeps,
  readMessage,
  type StoredMsg,
  type StreamConfig,
} from "../../src/channels/brokers/nats-jetstream.js";

/** A JetStream API error as @nats-io/jetstream raises it (its `code` is JetStream's err_code). */
function apiError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A manager whose `add` fails with `addError` (if any) and whose streams are `streams`; calls are recorded. */
function manager(streams: Map<string, StreamConfig>, addError?: Error) {
  const calls: string[] = [];
  const jsm = {
    streams: {
      async add(config: StreamConfig) {
        calls.push(`add ${config.name}`);
        if (addError !== undefined) throw addError;
        streams.set(config.name, config);
        return { config };
      },
      async info(name: string) {
        calls.push(`info ${name}`);
        const config = streams.get(name);
        if (config === undefined) throw apiError(10059, "stream not found");
        return { config };
      },
      async update(name: string, config: StreamConfig) {
        calls.push(`update ${name} ${JSON.stringify(config.max_age)}`);
        streams.set(name, config);
        return { config };
      },
    },
  };
  return { jsm: jsm as unknown as JetStreamManager, calls };
}

const wanted: StreamConfig = { name: "WIRECABLE_DEDUP_x", subjects: ["x.d.>"], max_age: 10 };
const keepLongest = (existing: StreamConfig, config: StreamConfig): StreamConfig => ({
  ...config,
  max_age: Math.max(existing.max_age ?? 0, config.max_age ?? 0),
});
const OVERLAP = () => apiError(10065, "subjects overlap with an existing stream");

describe("ensureStream", () => {
  it("creates the stream", async () => {
    const streams = new Map<string, StreamConfig>();
    const { jsm, calls } = manager(streams);
    await ensureStream(jsm, wanted, keepLongest);
    assert.deepEqual(calls, ["add WIRECABLE_DEDUP_x"]);
    assert.equal(streams.get(wanted.name), wanted);
  });

  it("a stream existing with another configuration is updated to the merge", async () => {
    const streams = new Map([[wanted.name, { ...wanted, max_age: 50 }]]);
    const { jsm, calls } = manager(
      streams,
      apiError(10058, "stream name already in use with a different configuration"),
    );
    await ensureStream(jsm, wanted, keepLongest);
    assert.deepEqual(calls, ["add WIRECABLE_DEDUP_x", "info WIRECABLE_DEDUP_x", "update WIRECABLE_DEDUP_x 50"]);
    const plain = manager(streams, apiError(10058, "in use"));
    await ensureStream(plain.jsm, wanted);
    assert.deepEqual(plain.calls, ["add WIRECABLE_DEDUP_x", "update WIRECABLE_DEDUP_x 10"], "no merge: the wanted one");
  });

  it("an overlap refusal while the stream exists (another process created it first) updates it alike", async () => {
    const streams = new Map([[wanted.name, { ...wanted, max_age: 50 }]]);
    const { jsm, calls } = manager(streams, OVERLAP());
    await ensureStream(jsm, wanted, keepLongest);
    assert.deepEqual(calls, ["add WIRECABLE_DEDUP_x", "info WIRECABLE_DEDUP_x", "update WIRECABLE_DEDUP_x 50"]);
    const plain = manager(new Map([[wanted.name, wanted]]), OVERLAP());
    await ensureStream(plain.jsm, wanted);
    assert.deepEqual(plain.calls, ["add WIRECABLE_DEDUP_x", "info WIRECABLE_DEDUP_x", "update WIRECABLE_DEDUP_x 10"]);
  });

  it("an overlap with another stream's subjects is the error it is", async () => {
    const streams = new Map([["OTHER", { name: "OTHER", subjects: ["x.>"] }]]);
    const { jsm, calls } = manager(streams, OVERLAP());
    await assert.rejects(ensureStream(jsm, wanted, keepLongest), /subjects overlap with an existing stream/);
    assert.deepEqual(calls, ["add WIRECABLE_DEDUP_x", "info WIRECABLE_DEDUP_x"], "nothing updated");
  });

  it("other errors are raised as they are", async () => {
    const { jsm, calls } = manager(new Map(), apiError(10039, "jetstream not enabled for account"));
    await assert.rejects(ensureStream(jsm, wanted), /jetstream not enabled/);
    assert.deepEqual(calls, ["add WIRECABLE_DEDUP_x"]);
  });
});

describe("jetStreamSetup", () => {
  /** Deps whose JetStream module records the options its manager and client are made with. */
  function deps(requestTimeout?: number) {
    const made: string[] = [];
    const { jsm } = manager(new Map());
    const jetstream = {
      async jetstreamManager(_nc: unknown, opts?: object) {
        made.push(`manager ${JSON.stringify(opts)}`);
        return jsm;
      },
      jetstream(_nc: unknown, opts?: object) {
        made.push(`client ${JSON.stringify(opts)}`);
        return {};
      },
    };
    const given = {
      prefix: "p",
      token: (stream: string) => stream,
      connection: async () => ({}),
      nats: Promise.resolve({}),
      jetstream: Promise.resolve(jetstream),
      requestTimeout,
    } as unknown as NatsJetStreamDeps;
    return { given, made };
  }

  it("makes the manager and the client with the request timeout given (none: the client's default)", async () => {
    assert.equal(DIRECT_GET_TIMEOUT, 2000);
    for (const [timeout, opts, directTimeout] of [
      [12_345, '{"timeout":12345}', 2000],
      [500, '{"timeout":500}', 500],
      [undefined, "{}", 2000],
    ] as const) {
      const { given, made } = deps(timeout);
      const access = await jetStreamSetup(given, () => [wanted])();
      assert.ok(access.jsm !== undefined);
      const direct = `{"timeout":${directTimeout},"checkAPI":false}`;
      assert.deepEqual(made, [`manager ${opts}`, `manager ${direct}`, `client ${opts}`]);
    }
  });
});

describe("readMessage: a direct get, else the stream's message API", () => {
  const stored = { seq: 7 } as unknown as StoredMsg;
  /** A direct manager whose get ends as `outcome`, and an API manager answering `stored`; calls recorded. */
  function managers(outcome: () => Promise<StoredMsg>) {
    const calls: string[] = [];
    const direct = {
      direct: {
        async getMessage(stream: string, query: object) {
          calls.push(`direct ${stream} ${JSON.stringify(query)}`);
          return outcome();
        },
      },
    } as unknown as JetStreamManager;
    const jsm = {
      streams: {
        async getMessage(stream: string, query: object) {
          calls.push(`stream ${stream} ${JSON.stringify(query)}`);
          return stored;
        },
      },
    } as unknown as JetStreamManager;
    return { direct, jsm, calls };
  }
  const named = (name: string, cause?: Error) => Object.assign(new Error(name), { name, cause });

  it("a direct get that is answered is the answer, null included: no second request", async () => {
    for (const answer of [stored, null]) {
      const { direct, jsm, calls } = managers(async () => answer);
      assert.equal(await readMessage(direct, jsm, "S", { last_by_subj: "p.d.k" }), answer);
      assert.deepEqual(calls, ['direct S {"last_by_subj":"p.d.k"}']);
    }
  });

  it("one not answered (timeout, or no responders) is read through the stream's API, same query", async () => {
    for (const err of [
      named("TimeoutError"),
      named("RequestError", Object.assign(new Error(), { name: "NoResponders" })),
    ]) {
      const { direct, jsm, calls } = managers(async () => Promise.reject(err));
      assert.equal(await readMessage(direct, jsm, "S", { seq: 3, next_by_subj: "p.l.s" }), stored);
      assert.deepEqual(calls, [
        'direct S {"seq":3,"next_by_subj":"p.l.s"}',
        'stream S {"seq":3,"next_by_subj":"p.l.s"}',
      ]);
    }
  });

  it("a stream whose direct get went unanswered is read through the API from then on; others are not", async () => {
    const apiOnly = new Set<string>();
    const { direct, jsm, calls } = managers(async () => Promise.reject(named("TimeoutError")));
    await readMessage(direct, jsm, "S", { last_by_subj: "a" }, apiOnly);
    await readMessage(direct, jsm, "S", { last_by_subj: "b" }, apiOnly);
    await readMessage(direct, jsm, "T", { last_by_subj: "c" }, apiOnly);
    assert.deepEqual(calls, [
      'direct S {"last_by_subj":"a"}',
      'stream S {"last_by_subj":"a"}',
      'stream S {"last_by_subj":"b"}',
      'direct T {"last_by_subj":"c"}',
      'stream T {"last_by_subj":"c"}',
    ]);
    assert.deepEqual([...apiOnly], ["S", "T"]);
  });

  it("other errors are raised as they are, with no second request", async () => {
    const closed = named("RequestError", named("RequestError")); // a connection closed during the request
    for (const err of [
      named("RequestError", new Error("permissions")),
      closed,
      named("ClosedConnectionError"),
      apiError(10059, "stream not found"),
    ]) {
      const { direct, jsm, calls } = managers(async () => Promise.reject(err));
      await assert.rejects(readMessage(direct, jsm, "S", { last_by_subj: "x" }), (e) => e === err);
      assert.equal(calls.length, 1);
    }
  });
});
