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
  frames: Array<Uint8Array | number>;
  /** Write each Buffer in chops of this many bytes. */
  chop?: number;
  /** What the client must send back first (echoes, pongs), in order. */
  expect?: Expect[];
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

/** Autobahn-like cases for a client testee (a representative subset of sections 1-7, 9, 10, 12, 13). */
export function defaultCases(): FuzzCase[] {
  const c: FuzzCase[] = [];
  const echo = (id: string, description: string, frames: Array<Uint8Array | number>, expect: Expect[], chop?: number) =>
    c.push({ id, description, frames, expect, chop });
  const fail = (
    id: string,
    description: string,
    frames: Array<Uint8Array | number>,
    codes: number[],
    expect: Expect[] = [],
  ) => c.push({ id, description, frames, fail: codes, expect });
  const t = (data: Buffer | string): Expect => ({ kind: "text", data });
  const b = (data: Buffer | string): Expect => ({ kind: "binary", data });
  const p = (data: Buffer | string = ""): Expect => ({ kind: "pong", data });

  // 1: framing
  [0, 125, 126, 127, 128, 65535, 65536].forEach((n, i) => {
    echo(`1.1.${i + 1}`, `text, ${n} octets`, [S(OP.TEXT, "*".repeat(n))], [t("*".repeat(n))]);
  });
  echo("1.1.8", "text, 65536 octets, chops of 997", [S(OP.TEXT, "*".repeat(65536))], [t("*".repeat(65536))], 997);
  [0, 125, 65536].forEach((n, i) => {
    echo(
      `1.2.${[1, 2, 7][i]}`,
      `binary, ${n} octets`,
      [S(OP.BINARY, Buffer.alloc(n, 0xfe))],
      [b(Buffer.alloc(n, 0xfe))],
    );
  });
  // 2: ping/pong
  echo("2.1", "ping, no payload", [S(OP.PING)], [p()]);
  echo("2.2", "ping, text payload", [S(OP.PING, "Hello, world!")], [p("Hello, world!")]);
  echo("2.3", "ping, binary payload", [S(OP.PING, hex("00fffefdfcfb00ff"))], [p(hex("00fffefdfcfb00ff"))]);
  echo("2.4", "ping, 125 octets", [S(OP.PING, Buffer.alloc(125, 0xfe))], [p(Buffer.alloc(125, 0xfe))]);
  fail("2.5", "ping, 126 octets", [S(OP.PING, Buffer.alloc(126, 0xfe))], [1002]);
  echo(
    "2.6",
    "ping, 125 octets, 1-octet chops",
    [S(OP.PING, Buffer.alloc(125, 0xfe))],
    [p(Buffer.alloc(125, 0xfe))],
    1,
  );
  echo("2.7", "unsolicited pong", [S(OP.PONG)], []);
  echo("2.8", "unsolicited pong with payload", [S(OP.PONG, "unsolicited pong payload")], []);
  echo("2.9", "unsolicited pong, then ping", [S(OP.PONG, "x"), S(OP.PING, "ping payload")], [p("ping payload")]);
  const ten = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  echo(
    "2.10",
    "10 pings",
    ten.map((x) => S(OP.PING, x)),
    ten.map((x) => p(x)),
  );
  // 3: reserved bits
  const hello = "Hello, world!";
  fail("3.1", "text, RSV=1", [S(OP.TEXT, hello, { rsv: 1 })], [1002]);
  fail(
    "3.2",
    "text, text RSV=2, ping",
    [S(OP.TEXT, hello), S(OP.TEXT, hello, { rsv: 2 }), S(OP.PING)],
    [1002],
    [t(hello)],
  );
  fail("3.5", "binary, RSV=5", [S(OP.BINARY, hex("00fffe"), { rsv: 5 })], [1002]);
  fail("3.6", "ping, RSV=6", [S(OP.PING, hello, { rsv: 6 })], [1002]);
  fail("3.7", "close, RSV=7", [S(OP.CLOSE, closeBody(1000), { rsv: 7 })], [1002]);
  // 4: opcodes
  fail("4.1.1", "opcode 3", [S(3)], [1002]);
  fail("4.1.3", "text, opcode 5, ping", [S(OP.TEXT, hello), S(5), S(OP.PING)], [1002], [t(hello)]);
  fail("4.2.1", "opcode 11", [S(11)], [1002]);
  fail("4.2.4", "text, opcode 14 with payload, ping", [S(OP.TEXT, hello), S(14, "x"), S(OP.PING)], [1002], [t(hello)]);
  // 5: fragmentation
  fail("5.1", "fragmented ping", [S(OP.PING, "f1", { fin: false }), S(OP.CONT, "f2")], [1002]);
  fail("5.2", "fragmented pong", [S(OP.PONG, "f1", { fin: false }), S(OP.CONT, "f2")], [1002]);
  echo(
    "5.3",
    "text in 2 fragments",
    [S(OP.TEXT, "fragment1", { fin: false }), S(OP.CONT, "fragment2")],
    [t("fragment1fragment2")],
  );
  echo(
    "5.6",
    "text in 2 fragments, ping in between",
    [S(OP.TEXT, "fragment1", { fin: false }), S(OP.PING, "ping payload"), S(OP.CONT, "fragment2")],
    [p("ping payload"), t("fragment1fragment2")],
  );
  echo(
    "5.8",
    "same, 1-octet chops",
    [S(OP.TEXT, "fragment1", { fin: false }), S(OP.PING, "ping payload"), S(OP.CONT, "fragment2")],
    [p("ping payload"), t("fragment1fragment2")],
    1,
  );
  fail(
    "5.9",
    "continuation with nothing to continue",
    [S(OP.CONT, "f1"), S(OP.TEXT, "f2", { fin: false }), S(OP.CONT, "f3")],
    [1002],
  );
  fail(
    "5.15",
    "text in 2 fragments, then a stray continuation",
    [S(OP.TEXT, "f1", { fin: false }), S(OP.CONT, "f2"), S(OP.CONT, "f3", { fin: false }), S(OP.TEXT, "f4")],
    [1002],
    [t("f1f2")],
  );
  fail("5.18", "text fragment, then a new text frame", [S(OP.TEXT, "f1", { fin: false }), S(OP.TEXT, "f2")], [1002]);
  echo(
    "5.19",
    "text in 5 fragments, 2 pings in between, with pauses",
    [
      S(OP.TEXT, "fragment1", { fin: false }),
      S(OP.CONT, "fragment2", { fin: false }),
      S(OP.PING, "pongme 1!"),
      100,
      S(OP.CONT, "fragment3", { fin: false }),
      S(OP.CONT, "fragment4", { fin: false }),
      S(OP.PING, "pongme 2!"),
      100,
      S(OP.CONT, "fragment5"),
    ],
    [p("pongme 1!"), p("pongme 2!"), t("fragment1fragment2fragment3fragment4fragment5")],
  );
  // 6: UTF-8
  echo("6.1.1", "empty text", [S(OP.TEXT)], [t("")]);
  const kosme = hex("cebae1bdb9cf83cebcceb5");
  echo(
    "6.2.4",
    "κόσμε in 1-octet fragments",
    Array.from(kosme, (_, i) => S(i ? OP.CONT : OP.TEXT, kosme.subarray(i, i + 1), { fin: i === kosme.length - 1 })),
    [t(kosme)],
  );
  const invalid = hex("cebae1bdb9cf83cebcceb5eda080656469746564");
  fail("6.3.1", "invalid UTF-8 text", [S(OP.TEXT, invalid)], [1007]);
  c.push({
    id: "6.4.1",
    description: "fail fast: 3 fragments, the 2nd invalid",
    frames: [S(OP.TEXT, kosme, { fin: false }), S(OP.CONT, hex("f4908080"), { fin: false }), 500, S(OP.CONT, "edited")],
    fail: [1007],
    failFastAfter: 1,
  });
  for (const [id, h, valid] of [
    ["6.5.1", "cebae1bdb9cf83cebcceb5", true],
    ["6.9.4", "f48fbfbf", true],
    ["6.11.5", "f4908080", false],
    ["6.17.1", "c0af", false],
    ["6.20.1", "eda080", false],
    ["6.22.1", "efbfbe", true],
  ] as const) {
    if (valid) echo(id, `valid UTF-8 ${h}`, [S(OP.TEXT, hex(h))], [t(hex(h))]);
    else fail(id, `invalid UTF-8 ${h}`, [S(OP.TEXT, hex(h))], [1007]);
  }
  // 7: closing handshake (our close ends the frames; the client answers)
  const answer = (id: string, description: string, frames: Uint8Array[], codes: number[], expect: Expect[] = []) =>
    c.push({ id, description, frames, answer: codes, expect });
  answer("7.1.1", "text, then close", [S(OP.TEXT, "Hello World!"), CLOSE_1000], [1000], [t("Hello World!")]);
  answer("7.1.3", "close, then ping: no pong", [CLOSE_1000, S(OP.PING, "x")], [1000]);
  answer("7.1.4", "close, then text: no echo", [CLOSE_1000, S(OP.TEXT, "x")], [1000]);
  answer("7.3.1", "close without payload", [S(OP.CLOSE)], [1000, 1005]);
  fail("7.3.2", "close with 1-octet payload", [S(OP.CLOSE, hex("03"))], [1002]);
  answer("7.3.4", "close 1000 with reason", [close(1000, "Hello World!")], [1000]);
  answer("7.3.5", "close with a 123-octet reason", [close(1000, "*".repeat(123))], [1000]);
  fail("7.3.6", "close with a 124-octet reason", [close(1000, "*".repeat(124))], [1002]);
  fail("7.5.1", "close reason not UTF-8", [close(1000, invalid)], [1007]);
  [1000, 1001, 1002, 1003, 1007, 1011, 3000, 4999].forEach((code, i) => {
    answer(`7.7.${[1, 2, 3, 4, 5, 9, 10, 13][i]}`, `valid close code ${code}`, [close(code)], [1000, code]);
  });
  [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) => {
    fail(`7.9.${i + 1}`, `invalid close code ${code}`, [close(code)], [1002]);
  });
  fail("7.13.1", "close code 5000", [close(5000)], [1002]);
  // 9: limits (reduced)
  echo("9.1.1", "text, 64 KiB", [S(OP.TEXT, "*".repeat(65536))], [t("*".repeat(65536))]);
  echo("9.1.3", "text, 1 MiB", [S(OP.TEXT, "*".repeat(1 << 20))], [t("*".repeat(1 << 20))]);
  echo("9.2.3", "binary, 1 MiB", [S(OP.BINARY, Buffer.alloc(1 << 20, 0xfe))], [b(Buffer.alloc(1 << 20, 0xfe))]);
  const big = Buffer.alloc(4 << 20, 0x2a);
  const frags = (size: number, op: number) =>
    Array.from({ length: big.length / size }, (_, i) =>
      S(i ? OP.CONT : op, big.subarray(i * size, (i + 1) * size), { fin: (i + 1) * size >= big.length }),
    );
  echo("9.3.1", "4 MiB text in 64 B fragments (65536 frames)", frags(64, OP.TEXT), [t(big)]);
  echo("9.4.5", "4 MiB binary in 16 KiB fragments", frags(16384, OP.BINARY), [b(big)]);
  const many = Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(64, "*"));
  echo(
    "9.7.3",
    "100 text messages of 64 octets (reduced)",
    many.map((m) => S(OP.TEXT, m)),
    many.map((m) => t(m)),
  );
  // 10: auto-fragmentation
  const t64 = Buffer.alloc(65536, 0x2a);
  echo(
    "10.1.1",
    "65536-octet text in 1300-octet fragments",
    Array.from({ length: Math.ceil(65536 / 1300) }, (_, i) =>
      S(i ? OP.CONT : OP.TEXT, t64.subarray(i * 1300, (i + 1) * 1300), { fin: (i + 1) * 1300 >= 65536 }),
    ),
    [t(t64)],
  );
  // 12/13: compression, the server's side through ws
  const text = (size: number, k: number) =>
    `${k}:${"wirecable deflate κόσμε ".repeat(Math.ceil(size / 20))}`.slice(0, size);
  [16, 4096, 131072].forEach((size, i) => {
    const n = size <= 4096 ? 20 : 4;
    c.push({
      id: `12.1.${[1, 5, 10][i]}`,
      description: `${n} compressed text messages of ${size} octets`,
      deflate: {},
      messages: Array.from({ length: n }, (_, k) => text(size, k)),
    });
    c.push({
      id: `12.2.${[1, 5, 10][i]}`,
      description: `${n} compressed binary messages of ${size} octets`,
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
      description: `accept with ${JSON.stringify(deflate)}, 20 text messages of 1024 octets`,
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
      for (let i = 0; i < fuzz.frames.length; i++) {
        const f = fuzz.frames[i];
        if (typeof f === "number") await sleep(f);
        else if (socket.destroyed || s.closeSeen) break;
        else if (fuzz.chop) {
          for (let k = 0; k < f.length; k += fuzz.chop) {
            socket.write(f.subarray(k, k + fuzz.chop));
            await new Promise((r) => setImmediate(r));
          }
        } else if (!socket.write(f)) await new Promise((r) => socket.once("drain", r));
        if (fuzz.failFastAfter === i) {
          failFastOk = await s.waitAny(2000);
        }
      }
      for (const [i, want] of (fuzz.expect ?? []).entries()) {
        const got = await s.next(10000);
        if (!got) return { behavior: "FAILED", detail: `connection closed before message ${i + 1} (${want.kind})` };
        const data = typeof want.data === "string" ? Buffer.from(want.data) : want.data;
        if (got.kind !== want.kind || !got.data.equals(data)) {
          const what = got.kind === "close" ? `close ${closeCode(got)}` : `${got.kind} of ${got.data.length} octets`;
          return {
            behavior: "FAILED",
            detail: `message ${i + 1}: expected ${want.kind} of ${data.length} octets, got ${what}`,
          };
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
