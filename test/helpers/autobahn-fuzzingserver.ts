/**
 * A small stand-in for the Autobahn TestSuite's `fuzzingserver` (client-testee mode), for tests:
 * `GET /getCaseCount` answers the case count as a text message; `/runCase?case=N&agent=A` plays
 * case N (frames written raw on the socket, or, for the compression cases, messages sent through
 * `ws` with permessage-deflate when the client offered it) and grades what the client answers;
 * `/updateReports?agent=A` writes index.json and index.md to `reportDir`. Verdicts use
 * Autobahn's words: OK, NON-STRICT, FAILED, UNIMPLEMENTED. Loopback only, port 0.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { type PerMessageDeflateOptions, WebSocketServer } from "ws";
import { autobahnFragments, limitCases, repeatTo, roundTripCases, utf8Vectors } from "./autobahn-cases.js";
import { closeBody, FrameReader, frame, MessageAssembler, OP, type WireMessage } from "./frames.js";
import { sleep } from "./time.js";

export type Behavior = "OK" | "NON-STRICT" | "FAILED" | "UNIMPLEMENTED";
export interface CaseResult {
  id: string;
  description: string;
  behavior: Behavior;
  detail: string;
}
export interface Expect {
  kind: WireMessage["kind"];
  data: Buffer | string;
}

/** A case played with raw frames. `frames`: bytes to write, or a number = pause (ms). */
export interface RawCase {
  id: string;
  description: string;
  /** Or a function building them when the case runs (the 9.x cases' megabytes). */
  frames: Array<Uint8Array | number> | (() => Array<Uint8Array | number>);
  /** Write each Buffer in chops of this many bytes. */
  chop?: number;
  /** What the client must send back first (echoes, pongs), in order. */
  expect?: Expect[] | (() => Expect[]);
  /** Play `frames` and wait for `expect` this many times (Autobahn 9.7/9.8: 1000 round trips). */
  rounds?: number;
  /** The client must fail the connection with one of these codes. */
  fail?: number[];
  /** `frames` ends with our close: the client must answer with one of these codes (1005: empty). */
  answer?: number[];
  /** Fail-fast: after the frame at this index the client must close before the rest is written. */
  failFastAfter?: number;
}
/** A case played through `ws` with permessage-deflate (the server's side of the 12.x/13.x cases). */
export interface DeflateCase {
  id: string;
  description: string;
  deflate: PerMessageDeflateOptions;
  messages: Array<string | Buffer>;
}
export type FuzzCase = RawCase | DeflateCase;

const S = (op: number, payload: Uint8Array | string = "", o: { fin?: boolean; rsv?: number } = {}) =>
  frame(op, payload, o);
const hex = (h: string) => Buffer.from(h, "hex");
const close = (code: number, reason: Uint8Array | string = "") => S(OP.CLOSE, closeBody(code, reason));
const CLOSE_1000 = close(1000);

/**
 * The cases for a client testee: sections 1-7, 9 and 10 complete, with Autobahn's frames, sizes
 * and counts (pauses shorter); 12.x/13.x reduced (see their descriptions).
 */
export function defaultCases(): FuzzCase[] {
  const c: FuzzCase[] = [];
  const echo = (
    id: string,
    description: string,
    frames: RawCase["frames"],
    expect: RawCase["expect"],
    extra: Partial<RawCase> = {},
  ) => {
    c.push({ id, description, frames, expect, ...extra });
  };
  const fail = (
    id: string,
    description: string,
    frames: RawCase["frames"],
    codes: number[],
    expect: Expect[] = [],
    extra: Partial<RawCase> = {},
  ) => {
    c.push({ id, description, frames, fail: codes, expect, ...extra });
  };
  const t = (data: Buffer | string): Expect => ({ kind: "text", data });
  const b = (data: Buffer | string): Expect => ({ kind: "binary", data });
  const p = (data: Buffer | string = ""): Expect => ({ kind: "pong", data });
  const hello = "Hello, world!";

  // 1: framing
  const sizes = [0, 125, 126, 127, 128, 65535, 65536];
  for (const [i, n] of sizes.entries()) {
    echo(`1.1.${i + 1}`, `text, ${n} octets`, [S(OP.TEXT, "*".repeat(n))], [t("*".repeat(n))]);
  }
  echo("1.1.8", "text, 65536 octets, chops of 997", [S(OP.TEXT, "*".repeat(65536))], [t("*".repeat(65536))], {
    chop: 997,
  });
  for (const [i, n] of sizes.entries()) {
    echo(`1.2.${i + 1}`, `binary, ${n} octets`, [S(OP.BINARY, Buffer.alloc(n, 0xfe))], [b(Buffer.alloc(n, 0xfe))]);
  }
  echo(
    "1.2.8",
    "binary, 65536 octets, chops of 997",
    [S(OP.BINARY, Buffer.alloc(65536, 0xfe))],
    [b(Buffer.alloc(65536, 0xfe))],
    { chop: 997 },
  );

  // 2: ping/pong
  const p125 = Buffer.alloc(125, 0xfe);
  echo("2.1", "ping, no payload", [S(OP.PING)], [p()]);
  echo("2.2", "ping, text payload", [S(OP.PING, hello)], [p(hello)]);
  echo("2.3", "ping, binary payload", [S(OP.PING, hex("00fffefdfcfb00ff"))], [p(hex("00fffefdfcfb00ff"))]);
  echo("2.4", "ping, 125 octets", [S(OP.PING, p125)], [p(p125)]);
  fail("2.5", "ping, 126 octets", [S(OP.PING, Buffer.alloc(126, 0xfe))], [1002]);
  echo("2.6", "ping, 125 octets, 1-octet chops", [S(OP.PING, p125)], [p(p125)], { chop: 1 });
  echo("2.7", "unsolicited pong", [S(OP.PONG)], []);
  echo("2.8", "unsolicited pong with payload", [S(OP.PONG, "unsolicited pong payload")], []);
  echo(
    "2.9",
    "unsolicited pong, then ping",
    [S(OP.PONG, "unsolicited pong payload"), S(OP.PING, "ping payload")],
    [p("ping payload")],
  );
  const ten = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  echo(
    "2.10",
    "10 pings",
    ten.map((x) => S(OP.PING, x)),
    ten.map((x) => p(x)),
  );
  echo(
    "2.11",
    "10 pings, 1-octet chops",
    ten.map((x) => S(OP.PING, x)),
    ten.map((x) => p(x)),
    { chop: 1 },
  );

  // 3: reserved bits
  const rsv = (n: number) => [S(OP.TEXT, hello), S(OP.TEXT, hello, { rsv: n }), S(OP.PING)];
  fail("3.1", "text, RSV=1", [S(OP.TEXT, hello, { rsv: 1 })], [1002]);
  fail("3.2", "text, text RSV=2, ping", rsv(2), [1002], [t(hello)]);
  fail(
    "3.3",
    "same with RSV=3, frame by frame",
    rsv(3).flatMap((f) => [f, 10]),
    [1002],
    [t(hello)],
  );
  fail("3.4", "same with RSV=4, 1-octet chops", rsv(4), [1002], [t(hello)], { chop: 1 });
  fail("3.5", "binary, RSV=5", [S(OP.BINARY, hex("00fffefdfcfb00ff"), { rsv: 5 })], [1002]);
  fail("3.6", "ping, RSV=6", [S(OP.PING, hello, { rsv: 6 })], [1002]);
  fail("3.7", "close, RSV=7", [S(OP.CLOSE, closeBody(1000), { rsv: 7 })], [1002]);

  // 4: reserved opcodes
  for (const [section, ops] of [
    ["4.1", [3, 4, 5, 6, 7]],
    ["4.2", [11, 12, 13, 14, 15]],
  ] as const) {
    fail(`${section}.1`, `opcode ${ops[0]}`, [S(ops[0])], [1002]);
    fail(`${section}.2`, `opcode ${ops[1]} with payload`, [S(ops[1], "reserved opcode payload")], [1002]);
    fail(
      `${section}.3`,
      `text, opcode ${ops[2]}, ping`,
      [S(OP.TEXT, hello), S(ops[2]), S(OP.PING)],
      [1002],
      [t(hello)],
    );
    const withPayload = [S(OP.TEXT, hello), S(ops[3], hello), S(OP.PING)];
    fail(`${section}.4`, `text, opcode ${ops[3]} with payload, ping`, withPayload, [1002], [t(hello)]);
    const last = [S(OP.TEXT, hello), S(ops[4], hello), S(OP.PING)];
    fail(`${section}.5`, `same with opcode ${ops[4]}, 1-octet chops`, last, [1002], [t(hello)], { chop: 1 });
  }

  // 5: fragmentation
  const f1f2 = [S(OP.TEXT, "fragment1", { fin: false }), S(OP.CONT, "fragment2")];
  const withPing = [S(OP.TEXT, "fragment1", { fin: false }), S(OP.PING, "ping payload"), S(OP.CONT, "fragment2")];
  fail("5.1", "fragmented ping", [S(OP.PING, "fragment1", { fin: false }), S(OP.CONT, "fragment2")], [1002]);
  fail("5.2", "fragmented pong", [S(OP.PONG, "fragment1", { fin: false }), S(OP.CONT, "fragment2")], [1002]);
  echo("5.3", "text in 2 fragments", f1f2, [t("fragment1fragment2")]);
  echo("5.4", "same, frame by frame", [f1f2[0]!, 10, f1f2[1]!], [t("fragment1fragment2")]);
  echo("5.5", "same, 1-octet chops", f1f2, [t("fragment1fragment2")], { chop: 1 });
  const pingExpect = [p("ping payload"), t("fragment1fragment2")];
  echo("5.6", "text in 2 fragments, ping in between", withPing, pingExpect);
  echo(
    "5.7",
    "same, frame by frame",
    withPing.flatMap((f) => [f, 10]),
    pingExpect,
  );
  echo("5.8", "same, 1-octet chops", withPing, pingExpect, { chop: 1 });
  const stray = (fin: boolean) => [S(OP.CONT, "non-continuation payload", { fin }), S(OP.TEXT, hello)];
  for (const [id, fin, how] of [
    ["5.9", true, "one chop"],
    ["5.10", true, "frame"],
    ["5.11", true, "octet"],
    ["5.12", false, "one chop"],
    ["5.13", false, "frame"],
    ["5.14", false, "octet"],
  ] as const) {
    const frames = how === "frame" ? stray(fin).flatMap((f) => [f, 10]) : stray(fin);
    fail(id, `continuation (FIN=${fin}) with nothing to continue, ${how}-wise`, frames, [1002], [], {
      chop: how === "octet" ? 1 : undefined,
    });
  }
  fail(
    "5.15",
    "text in 2 fragments, then a stray continuation",
    [...f1f2, S(OP.CONT, "fragment3", { fin: false }), S(OP.TEXT, "fragment4")],
    [1002],
    [t("fragment1fragment2")],
  );
  for (const [id, fin] of [
    ["5.16", false],
    ["5.17", true],
  ] as const) {
    const once = [S(OP.CONT, "fragment1", { fin }), S(OP.TEXT, "fragment2", { fin: false }), S(OP.CONT, "fragment3")];
    fail(id, `(continuation FIN=${fin}, text in 2 fragments) x2`, [...once, ...once], [1002]);
  }
  fail(
    "5.18",
    "text fragment, then a new text frame",
    [S(OP.TEXT, "fragment1", { fin: false }), S(OP.TEXT, "fragment2")],
    [1002],
  );
  const five = (chop?: number) =>
    echo(
      chop ? "5.20" : "5.19",
      `text in 5 fragments, 2 pings in between, with pauses${chop ? ", 1-octet chops" : ""}`,
      [
        S(OP.TEXT, "fragment1", { fin: false }),
        S(OP.CONT, "fragment2", { fin: false }),
        S(OP.PING, "pongme 1!"),
        100,
        S(OP.CONT, "fragment3", { fin: false }),
        S(OP.CONT, "fragment4", { fin: false }),
        S(OP.PING, "pongme 2!"),
        S(OP.CONT, "fragment5"),
      ],
      [p("pongme 1!"), p("pongme 2!"), t("fragment1fragment2fragment3fragment4fragment5")],
      { chop },
    );
  five();
  five(1);

  // 6: UTF-8
  const HELLO = "Hello-µ@ßöäüàá-UTF-8!!";
  const kosme = hex("cebae1bdb9cf83cebcceb5");
  const invalid = hex("cebae1bdb9cf83cebcceb5eda080656469746564");
  echo("6.1.1", "empty text", [S(OP.TEXT)], [t("")]);
  echo(
    "6.1.2",
    "3 empty fragments",
    [S(OP.TEXT, "", { fin: false }), S(OP.CONT, "", { fin: false }), S(OP.CONT)],
    [t("")],
  );
  echo(
    "6.1.3",
    "empty, empty, non-empty fragment",
    [S(OP.TEXT, "", { fin: false }), S(OP.CONT, "", { fin: false }), S(OP.CONT, "middle frame payload")],
    [t("middle frame payload")],
  );
  echo("6.2.1", "valid UTF-8, one frame", [S(OP.TEXT, HELLO)], [t(HELLO)]);
  echo(
    "6.2.2",
    "valid UTF-8, 2 fragments split on a code point",
    [S(OP.TEXT, "Hello-µ@ßöä", { fin: false }), S(OP.CONT, "üàá-UTF-8!!")],
    [t(HELLO)],
  );
  echo("6.2.3", "valid UTF-8 in 1-octet fragments", autobahnFragments(OP.TEXT, HELLO, 1), [t(HELLO)]);
  echo("6.2.4", "κόσμε in 1-octet fragments", autobahnFragments(OP.TEXT, kosme, 1), [t(kosme)]);
  fail("6.3.1", "invalid UTF-8 text", [S(OP.TEXT, invalid)], [1007]);
  fail("6.3.2", "invalid UTF-8 text in 1-octet fragments", autobahnFragments(OP.TEXT, invalid, 1), [1007]);
  const failFast = (id: string, description: string, frames: Uint8Array[]) => {
    c.push({ id, description, frames: [frames[0]!, frames[1]!, frames[2]!], fail: [1007], failFastAfter: 1 });
  };
  const part3 = Buffer.from("edited");
  failFast("6.4.1", "fail fast: 3 fragments, the 2nd invalid (f4908080)", [
    S(OP.TEXT, kosme, { fin: false }),
    S(OP.CONT, hex("f4908080"), { fin: false }),
    S(OP.CONT, part3),
  ]);
  failFast("6.4.2", "fail fast: 3 fragments, the 2nd only the octet 0x90", [
    S(OP.TEXT, Buffer.concat([kosme, hex("f4")]), { fin: false }),
    S(OP.CONT, hex("90"), { fin: false }),
    S(OP.CONT, Buffer.concat([hex("8080"), part3])),
  ]);
  const oneFrame = S(OP.TEXT, Buffer.concat([kosme, hex("f4908080"), part3]));
  const head = oneFrame.length - (kosme.length + 4 + part3.length);
  const chops = (a: number, z: number) => [
    oneFrame.subarray(0, head + a),
    oneFrame.subarray(head + a, head + z),
    oneFrame.subarray(head + z),
  ];
  failFast("6.4.3", "fail fast: 1 frame in 3 chops, the 2nd holding f4908080", chops(11, 15));
  failFast("6.4.4", "fail fast: 1 frame in 3 chops, the 2nd only the octet 0x90", chops(12, 13));
  for (const v of utf8Vectors()) {
    const what = `${v.group}: ${v.payload.toString("hex")}`;
    if (v.valid) echo(v.id, what, [S(OP.TEXT, v.payload)], [t(v.payload)]);
    else fail(v.id, what, [S(OP.TEXT, v.payload)], [1007]);
  }

  // 7: closing handshake (our close ends the frames; the client answers)
  const answer = (id: string, description: string, frames: Uint8Array[], codes: number[], expect: Expect[] = []) => {
    c.push({ id, description, frames, answer: codes, expect });
  };
  answer("7.1.1", "text, then close", [S(OP.TEXT, "Hello World!"), CLOSE_1000], [1000], [t("Hello World!")]);
  answer("7.1.2", "close twice", [CLOSE_1000, CLOSE_1000], [1000]);
  answer("7.1.3", "close, then ping: no pong", [CLOSE_1000, S(OP.PING, "Hello World!")], [1000]);
  answer("7.1.4", "close, then text: no echo", [CLOSE_1000, S(OP.TEXT, "Hello World!")], [1000]);
  answer(
    "7.1.5",
    "text fragment, close, then the last fragment",
    [S(OP.TEXT, "fragment1", { fin: false }), CLOSE_1000, S(OP.CONT, "fragment2")],
    [1000],
  );
  const big = repeatTo("BAsd7&jh23", 256 * 1024);
  answer(
    "7.1.6",
    "256 KiB text, a short text, close, ping",
    [S(OP.TEXT, big), S(OP.TEXT, "Hello World!"), CLOSE_1000, S(OP.PING)],
    [1000],
    [t(big), t("Hello World!")],
  );
  answer("7.3.1", "close without payload", [S(OP.CLOSE)], [1000, 1005]);
  fail("7.3.2", "close with 1-octet payload", [S(OP.CLOSE, hex("03"))], [1002]);
  answer("7.3.3", "close 1000 without reason", [CLOSE_1000], [1000]);
  answer("7.3.4", "close 1000 with reason", [close(1000, "Hello World!")], [1000]);
  answer("7.3.5", "close with a 123-octet reason", [close(1000, "*".repeat(123))], [1000]);
  fail("7.3.6", "close with a 124-octet reason", [close(1000, "*".repeat(124))], [1002]);
  fail("7.5.1", "close reason not UTF-8", [close(1000, invalid)], [1002, 1007]);
  [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((code, i) => {
    answer(`7.7.${i + 1}`, `valid close code ${code}`, [close(code)], [1000, code]);
  });
  [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) => {
    fail(`7.9.${i + 1}`, `invalid close code ${code}`, [close(code)], [1002]);
  });
  fail("7.13.1", "close code 5000", [close(5000)], [1002]);
  fail("7.13.2", "close code 65535", [close(65535)], [1002]);

  // 9: limits, at Autobahn's sizes (frames built when the case runs)
  for (const l of limitCases()) {
    const op = l.binary ? OP.BINARY : OP.TEXT;
    echo(
      l.id,
      l.description,
      () => (l.fragmentSize ? autobahnFragments(op, l.payload(), l.fragmentSize) : [S(op, l.payload())]),
      () => [l.binary ? b(l.payload()) : t(l.payload())],
      { chop: l.chop },
    );
  }
  for (const r of roundTripCases()) {
    const payload = Buffer.alloc(r.size, r.binary ? 0xfe : 0x2a);
    const kind = r.binary ? "binary" : "text";
    echo(
      `${r.id}`,
      `${r.count} ${kind} messages of ${r.size} octets, one round trip each`,
      [S(r.binary ? OP.BINARY : OP.TEXT, payload)],
      [r.binary ? b(payload) : t(payload)],
      { rounds: r.count },
    );
  }

  // 10: auto-fragmentation (the fuzzer's own: 65536 octets in 1300-octet frames)
  const t64 = Buffer.alloc(65536, 0x2a);
  echo("10.1.1", "65536-octet text in 1300-octet fragments", autobahnFragments(OP.TEXT, t64, 1300), [t(t64)]);

  // 12/13: compression, the server's side through ws. REDUCED: Autobahn sends 1000 messages per
  // case, cut from its test files (JSON, a bitmap, text, HTML, a PDF); these send a few
  // generated ones.
  const text = (size: number, k: number) =>
    `${k}:${"wirecable deflate κόσμε ".repeat(Math.ceil(size / 20))}`.slice(0, size);
  [16, 4096, 131072].forEach((size, i) => {
    const n = size <= 4096 ? 20 : 4;
    c.push({
      id: `12.1.${[1, 5, 10][i]}`,
      description: `reduced: ${n} compressed text messages of ${size} octets (Autobahn: 1000 of its JSON file)`,
      deflate: {},
      messages: Array.from({ length: n }, (_, k) => text(size, k)),
    });
    c.push({
      id: `12.2.${[1, 5, 10][i]}`,
      description: `reduced: ${n} compressed binary messages of ${size} octets (Autobahn: 1000 of its bitmap)`,
      deflate: {},
      messages: Array.from({ length: n }, (_, k) => Buffer.alloc(size, k)),
    });
  });
  const configs: Array<[string, PerMessageDeflateOptions]> = [
    ["13.2", { clientNoContextTakeover: true }],
    ["13.3", { clientMaxWindowBits: 9 }],
    ["13.5", { clientNoContextTakeover: true, clientMaxWindowBits: 9 }],
    ["13.x-server_no_context_takeover", { serverNoContextTakeover: true }],
    ["13.x-server_max_window_bits=9", { serverMaxWindowBits: 9 }],
  ];
  for (const [id, deflate] of configs) {
    c.push({
      id: `${id}.4`,
      description: `reduced: accept with ${JSON.stringify(deflate)}, 20 text messages of 1024 octets (Autobahn: 1000)`,
      deflate,
      messages: Array.from({ length: 20 }, (_, k) => text(1024, k)),
    });
  }
  return c;
}

export interface FuzzingServerOptions {
  reportDir: string;
  /** Case ids or prefixes ("1.", "9.3.1") to run, like Autobahn's "cases"; default all. */
  cases?: string[];
  excludeCases?: string[];
}

const selected = (id: string, patterns: string[]) => patterns.some((p) => id === p || id.startsWith(p));

export class AutobahnFuzzingServer {
  readonly cases: FuzzCase[];
  readonly results = new Map<string, Map<string, CaseResult>>();
  readonly reportDir: string;
  #http = http.createServer((_req, res) => res.writeHead(404).end());
  #deflateServers = new Map<string, WebSocketServer>();
  #sockets = new Set<Socket>();
  #inflight = new Set<Promise<void>>();

  constructor(options: FuzzingServerOptions) {
    this.reportDir = options.reportDir;
    const { cases = [""], excludeCases = [] } = options;
    this.cases = defaultCases().filter((c) => selected(c.id, cases) && !selected(c.id, excludeCases));
    this.#http.on("upgrade", (req, socket: Socket, head: Buffer) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.on("error", () => {});
      void this.#route(req, socket, head).catch(() => socket.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.#http.listen(0, "127.0.0.1", r));
    return (this.#http.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    for (const w of this.#deflateServers.values()) w.close();
    await new Promise<void>((r) => this.#http.close(() => r()));
  }

  async #route(req: http.IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const agent = url.searchParams.get("agent") ?? "unknown";
    if (url.pathname === "/getCaseCount") {
      const session = this.#accept(req, socket, head);
      socket.write(S(OP.TEXT, String(this.cases.length)));
      await this.#closeHandshake(session);
    } else if (url.pathname === "/updateReports") {
      await Promise.all(this.#inflight); // a case still grading its closing handshake
      this.#writeReports();
      await this.#closeHandshake(this.#accept(req, socket, head));
    } else if (url.pathname === "/runCase") {
      const run = this.#runCase(url, agent, req, socket, head);
      this.#inflight.add(run);
      await run.finally(() => this.#inflight.delete(run));
    } else socket.destroy();
  }

  async #runCase(url: URL, agent: string, req: http.IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const n = Number(url.searchParams.get("case"));
    const fuzz = this.cases[n - 1];
    if (!fuzz) return void socket.destroy();
    let result: Omit<CaseResult, "id" | "description">;
    try {
      if ("deflate" in fuzz) result = await this.#runDeflate(fuzz, req, socket, head);
      else result = await this.#runRaw(fuzz, this.#accept(req, socket, head));
    } catch (error) {
      socket.destroy();
      result = { behavior: "FAILED", detail: `fuzzing server error: ${(error as Error).message}` };
    }
    this.#record(agent, { id: fuzz.id, description: fuzz.description, ...result });
  }

  #record(agent: string, r: CaseResult): void {
    if (!this.results.has(agent)) this.results.set(agent, new Map());
    this.results.get(agent)!.set(r.id, r);
  }

  #writeReports(): void {
    mkdirSync(this.reportDir, { recursive: true });
    const json: Record<string, Record<string, { behavior: Behavior; detail: string }>> = {};
    let md = "# Autobahn-like client report\n\n| agent | case | behavior | detail |\n| --- | --- | --- | --- |\n";
    for (const [agent, results] of this.results) {
      json[agent] = {};
      for (const r of results.values()) {
        json[agent][r.id] = { behavior: r.behavior, detail: r.detail };
        md += `| ${agent} | ${r.id} | ${r.behavior} | ${r.detail.replace(/\|/g, "/")} |\n`;
      }
    }
    writeFileSync(join(this.reportDir, "index.json"), JSON.stringify(json, null, 2));
    writeFileSync(join(this.reportDir, "index.md"), md);
  }

  /** Our side of the opening handshake (raw); returns a reader of the client's messages. */
  #accept(req: http.IncomingMessage, socket: Socket, head: Buffer): Session {
    const key = String(req.headers["sec-websocket-key"] ?? "");
    const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.setNoDelay(true);
    return new Session(socket, head);
  }

  async #closeHandshake(s: Session): Promise<void> {
    s.socket.write(CLOSE_1000);
    await s.next(2000).catch(() => null);
    s.socket.end();
  }

  async #runRaw(fuzz: RawCase, s: Session): Promise<Omit<CaseResult, "id" | "description">> {
    const socket = s.socket;
    try {
      let failFastOk: boolean | undefined;
      const frames = typeof fuzz.frames === "function" ? fuzz.frames() : fuzz.frames;
      const expect = typeof fuzz.expect === "function" ? fuzz.expect() : (fuzz.expect ?? []);
      for (let round = 1; round <= (fuzz.rounds ?? 1); round++) {
        for (let i = 0; i < frames.length; i++) {
          const f = frames[i]!;
          if (typeof f === "number") await sleep(f);
          else if (socket.destroyed || s.closeSeen) break;
          else if (fuzz.chop) {
            for (let k = 0; k < f.length; k += fuzz.chop) {
              socket.write(f.subarray(k, k + fuzz.chop));
              await new Promise((r) => setImmediate(r));
            }
          } else if (!socket.write(f)) {
            // A client that fails the connection may close it while we write (RFC 6455 7.1.7).
            await new Promise((r) => {
              socket.once("drain", r);
              socket.once("close", r);
            });
          }
          if (fuzz.failFastAfter === i) {
            failFastOk = await s.waitAny(1000); // Autobahn waits 1 s before the rest
          }
        }
        for (const [i, want] of expect.entries()) {
          const got = await s.next(10000);
          const which = fuzz.rounds ? `round ${round}, message ${i + 1}` : `message ${i + 1}`;
          if (!got) return { behavior: "FAILED", detail: `connection closed before ${which} (${want.kind})` };
          const data = typeof want.data === "string" ? Buffer.from(want.data) : want.data;
          if (got.kind !== want.kind || !got.data.equals(data)) {
            const what = got.kind === "close" ? `close ${closeCode(got)}` : `${got.kind} of ${got.data.length} octets`;
            return {
              behavior: "FAILED",
              detail: `${which}: expected ${want.kind} of ${data.length} octets, got ${what}`,
            };
          }
        }
      }
      if (s.violation) return { behavior: "FAILED", detail: s.violation };
      const codes = fuzz.fail ?? fuzz.answer;
      if (!codes) socket.write(CLOSE_1000);
      const allowed = codes ?? [1000, 1005];
      const got = await s.next(5000).catch(() => null);
      if (!got) {
        return fuzz.fail
          ? { behavior: "NON-STRICT", detail: "the client dropped TCP without a close frame" }
          : { behavior: "FAILED", detail: "no close frame from the client" };
      }
      if (got.kind !== "close") return { behavior: "FAILED", detail: `expected a close frame, got ${got.kind}` };
      const code = closeCode(got);
      if (!allowed.includes(code))
        return { behavior: "FAILED", detail: `close code ${code}, expected ${allowed.join("/")}` };
      if (s.violation) return { behavior: "FAILED", detail: s.violation };
      if (fuzz.fail && !fuzz.answer) socket.write(close(code)); // answer the client's close
      if (failFastOk === false) return { behavior: "NON-STRICT", detail: `closed ${code}, but not fail-fast` };
      return { behavior: "OK", detail: `close ${code}` };
    } finally {
      await sleep(10);
      socket.end();
      setTimeout(() => socket.destroy(), 500).unref();
    }
  }

  async #runDeflate(
    fuzz: DeflateCase,
    req: http.IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): Promise<Omit<CaseResult, "id" | "description">> {
    if (!/permessage-deflate/i.test(String(req.headers["sec-websocket-extensions"] ?? ""))) {
      await this.#closeHandshake(this.#accept(req, socket, head));
      return { behavior: "UNIMPLEMENTED", detail: "the client did not offer permessage-deflate" };
    }
    const key = JSON.stringify(fuzz.deflate);
    let wss = this.#deflateServers.get(key);
    if (!wss) {
      wss = new WebSocketServer({ noServer: true, perMessageDeflate: { threshold: 0, ...fuzz.deflate } });
      this.#deflateServers.set(key, wss);
    }
    const ws = await new Promise<import("ws").WebSocket>((r) => wss.handleUpgrade(req, socket, head, r));
    if (!/permessage-deflate/.test(ws.extensions)) {
      ws.terminate();
      return { behavior: "FAILED", detail: "permessage-deflate was not negotiated" };
    }
    const got: Array<{ data: Buffer; isBinary: boolean }> = [];
    const done = new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(`timeout after ${got.length}/${fuzz.messages.length} echoes`), 15000);
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        got.push({ data, isBinary });
        if (got.length === fuzz.messages.length) {
          clearTimeout(timer);
          resolve(null);
        }
      });
      ws.on("close", (code) => {
        clearTimeout(timer);
        resolve(`closed ${code} after ${got.length}/${fuzz.messages.length} echoes`);
      });
    });
    for (const m of fuzz.messages) ws.send(m, { binary: typeof m !== "string", compress: true });
    const problem = await done;
    if (problem) {
      ws.terminate();
      return { behavior: "FAILED", detail: problem };
    }
    for (const [i, m] of fuzz.messages.entries()) {
      const want = typeof m === "string" ? Buffer.from(m) : m;
      if (got[i].isBinary !== (typeof m !== "string") || !got[i].data.equals(want)) {
        ws.terminate();
        return { behavior: "FAILED", detail: `echo ${i + 1} differs` };
      }
    }
    const code = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(-1), 5000);
      ws.once("close", (c: number) => {
        clearTimeout(timer);
        resolve(c);
      });
      ws.close(1000);
    });
    ws.terminate();
    return code === 1000
      ? { behavior: "OK", detail: `${fuzz.messages.length} echoes, close 1000` }
      : { behavior: "FAILED", detail: `close ${code}` };
  }
}

function closeCode(m: WireMessage): number {
  return m.data.length >= 2 ? m.data.readUInt16BE(0) : 1005;
}

/** The client's side of a raw connection: masked frames, reassembled messages. */
class Session {
  readonly socket: Socket;
  #reader = new FrameReader();
  #assembler = new MessageAssembler();
  #queue: WireMessage[] = [];
  #waiter: (() => void) | null = null;
  #ended = false;
  closeSeen = false;
  violation: string | null = null;

  constructor(socket: Socket, head: Buffer) {
    this.socket = socket;
    socket.on("data", (c: Buffer) => this.#onData(c));
    const end = () => {
      this.#ended = true;
      this.#wake();
    };
    socket.on("end", end);
    socket.on("close", end);
    if (head.length > 0) this.#onData(head);
  }

  #onData(chunk: Buffer): void {
    try {
      for (const f of this.#reader.push(chunk)) {
        if (!f.masked) this.violation ??= "the client sent an unmasked frame";
        const m = this.#assembler.push(f);
        if (m) {
          if (m.kind === "close") this.closeSeen = true;
          this.#queue.push(m);
        }
      }
    } catch (error) {
      this.violation ??= (error as Error).message;
    }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  async waitAny(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.#queue.length === 0 && !this.#ended) {
      if (Date.now() >= deadline) return false;
      await this.#wait(deadline - Date.now());
    }
    return true;
  }

  async next(ms: number): Promise<WireMessage | null> {
    const deadline = Date.now() + ms;
    while (this.#queue.length === 0) {
      if (this.#ended) return null;
      if (Date.now() >= deadline) throw new Error("timeout");
      await this.#wait(deadline - Date.now());
    }
    return this.#queue.shift()!;
  }

  #wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
