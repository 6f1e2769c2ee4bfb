/**
 * The admission checks on their own: a fake carrier (Admission) and host record what the checks
 * decide, so the order of the checks, `authenticate`'s outcomes, the handshake timeout and the
 * hand-over are seen without sockets. The same checks over real upgrades, HTTP/2 streams and
 * fallback requests: server.test.ts, http2-server.test.ts, fallback/limits.test.ts.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { type Admission, AdmissionChecks, type AdmissionHost, pathOf, routeByPath } from "../../src/node/admission.js";
import type { AnyConnection } from "../../src/node/connection.js";
import { Rejection, type ServerOptions } from "../../src/node/options.js";
import type { HandshakeError } from "../../src/protocol/errors.js";
import { event, UNIT, until } from "../helpers/time.js";

function request(url = "/chat", headers: Record<string, string> = {}): IncomingMessage {
  const rawHeaders = Object.entries(headers).flat();
  return { url, headers, rawHeaders } as unknown as IncomingMessage;
}

/** A connection as far as the checks see one: readyState and `open`. */
function fakeConnection(readyState: number): AnyConnection {
  return Object.assign(new EventEmitter(), { readyState }) as unknown as AnyConnection;
}

interface Run {
  checks: AdmissionChecks;
  admission: Admission & { refusals: Array<[HandshakeError, string | Uint8Array | undefined]>; accepted: unknown[] };
  rejected: HandshakeError[];
  errors: Error[];
  adopted: AnyConnection[];
  host: AdmissionHost & { closing: boolean; open: number };
}

function run(
  options: ServerOptions,
  req = request(),
  makeConnection = () => fakeConnection(1) as AnyConnection | null,
): Run {
  const rejected: HandshakeError[] = [];
  const errors: Error[] = [];
  const adopted: AnyConnection[] = [];
  const host = {
    closing: false,
    open: 0,
    error: (error: Error) => errors.push(error),
    rejected: (_req: IncomingMessage, error: HandshakeError) => rejected.push(error),
    adopt: (conn: AnyConnection) => adopted.push(conn),
  };
  const refusals: Array<[HandshakeError, string | Uint8Array | undefined]> = [];
  const accepted: unknown[] = [];
  const admission = {
    req,
    gone: false,
    refusals,
    accepted,
    refuse: (error: HandshakeError, body?: string | Uint8Array) => refusals.push([error, body]),
    accept: (data: unknown) => {
      accepted.push(data);
      return makeConnection();
    },
  };
  return { checks: new AdmissionChecks(host, options), admission, rejected, errors, adopted, host };
}

describe("admission checks", () => {
  it("accepts at once without authenticate (data undefined) and hands the connection over", () => {
    const r = run({ noServer: true });
    r.checks.admit(r.admission, undefined);
    assert.deepEqual(r.admission.accepted, [undefined]);
    assert.equal(r.adopted.length, 1);
    assert.deepEqual(r.rejected, []);
  });

  it("refuses in order: closing 503, path 400, origin 403, capacity 503 with Retry-After", () => {
    const options: ServerOptions = { noServer: true, path: "/chat", origins: ["https://a.example"], maxConnections: 1 };
    const closing = run(options, request("/other"));
    closing.host.closing = true;
    closing.checks.admit(closing.admission, undefined);
    assert.deepEqual(
      closing.rejected.map((e) => [e.code, e.status]),
      [["SERVER_UNAVAILABLE", 503]],
    );

    const path = run(options, request("/other?x=1", { origin: "https://evil.example" }));
    path.checks.admit(path.admission, undefined);
    assert.deepEqual(
      path.rejected.map((e) => e.code),
      ["BAD_REQUEST"],
    );

    const origin = run(options, request("/chat?x=1", { origin: "https://evil.example" }));
    origin.checks.admit(origin.admission, undefined);
    assert.deepEqual(
      origin.rejected.map((e) => [e.code, e.status]),
      [["ORIGIN_FORBIDDEN", 403]],
    );

    const full = run({ ...options, retryAfter: 7 }, request("/chat", { origin: "https://a.example" }));
    full.host.open = 1;
    full.checks.admit(full.admission, undefined);
    const [error] = full.rejected;
    assert.equal(error?.code, "SERVER_UNAVAILABLE");
    assert.deepEqual(error?.headers, { "Retry-After": "7" });
    // Each refusal is answered once, through the carrier, with the error's message as the body.
    for (const r of [closing, path, origin, full]) {
      assert.equal(r.admission.refusals.length, 1);
      assert.equal(r.admission.refusals[0]![1], r.rejected[0]!.message);
      assert.deepEqual(r.admission.accepted, []);
    }
  });

  it("an origin check that throws refuses 403 and reports the error", () => {
    const r = run({
      noServer: true,
      origins: () => {
        throw new Error("boom");
      },
    });
    r.checks.admit(r.admission, undefined);
    assert.equal(r.rejected[0]?.code, "ORIGIN_FORBIDDEN");
    assert.equal(r.errors[0]?.message, "boom");
  });

  it("counts handshakes waiting for authenticate against maxConnections", async () => {
    let release!: (data: unknown) => void;
    const gate = new Promise((resolve) => {
      release = resolve;
    });
    const options: ServerOptions = { noServer: true, maxConnections: 1, authenticate: () => gate };
    const first = run(options);
    first.checks.admit(first.admission, undefined);
    // A second request through the same checks while the first waits: full.
    const second = { ...first.admission, refusals: [] as typeof first.admission.refusals };
    second.refuse = (error, body) => second.refusals.push([error, body]);
    first.checks.admit(second, undefined);
    assert.equal(second.refusals[0]?.[0].code, "SERVER_UNAVAILABLE");
    release({ user: "ann" });
    await until(() => first.adopted.length === 1, "the first admitted");
    assert.deepEqual(first.admission.accepted, [{ user: "ann" }]);
  });

  it("authenticate: a Rejection (returned, thrown, resolved) answers its status, headers and body", async () => {
    const rejection = new Rejection(401, { headers: { "WWW-Authenticate": "Bearer" }, body: "who are you" });
    for (const authenticate of [
      () => rejection,
      () => {
        throw rejection;
      },
      async () => rejection,
    ]) {
      const r = run({ noServer: true, authenticate });
      r.checks.admit(r.admission, undefined);
      await until(() => r.rejected.length === 1, "the refusal");
      const [error, body] = r.admission.refusals[0]!;
      assert.equal(error.code, "REJECTED");
      assert.equal(error.status, 401);
      assert.deepEqual(error.headers, { "WWW-Authenticate": "Bearer" });
      assert.equal(body, "who are you");
      assert.deepEqual(r.errors, []);
    }
  });

  it("authenticate: any other failure is a 500 CALLBACK_FAILED and an error event", async () => {
    const r = run({ noServer: true, authenticate: async () => Promise.reject(new Error("db down")) });
    r.checks.admit(r.admission, undefined);
    await until(() => r.rejected.length === 1, "the refusal");
    assert.equal(r.rejected[0]?.code, "CALLBACK_FAILED");
    assert.equal(r.rejected[0]?.status, 500);
    assert.equal(r.errors[0]?.message, "db down");
  });

  it("a handshake timeout refuses 408 once; authenticate's late answer is ignored", async () => {
    let release!: (data: unknown) => void;
    const gate = new Promise((resolve) => {
      release = resolve;
    });
    const r = run({ noServer: true, handshakeTimeout: UNIT, authenticate: () => gate });
    r.checks.admit(r.admission, undefined);
    await until(() => r.rejected.length === 1, "the timeout");
    assert.equal(r.rejected[0]?.code, "HANDSHAKE_TIMEOUT");
    release("late");
    await gate;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.admission.accepted, []);
    assert.equal(r.rejected.length, 1);
  });

  it("nothing is accepted for a client gone meanwhile, and a server closing meanwhile refuses", async () => {
    const gone = run({ noServer: true, authenticate: async () => "ok" });
    gone.checks.admit({ ...gone.admission, gone: true }, undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(gone.admission.accepted, []);

    const closing = run({ noServer: true, authenticate: async () => "ok" });
    closing.checks.admit(closing.admission, undefined);
    closing.host.closing = true;
    await until(() => closing.rejected.length === 1, "the refusal");
    assert.equal(closing.rejected[0]?.code, "SERVER_UNAVAILABLE");
    assert.deepEqual(closing.admission.accepted, []);
  });

  it("a connection still CONNECTING (draft-76) is handed over once open", async () => {
    const conn = fakeConnection(0);
    const r = run({ noServer: true }, request(), () => conn);
    r.checks.admit(r.admission, undefined);
    assert.deepEqual(r.adopted, []);
    const opened = event(conn as unknown as EventEmitter, "open");
    conn.emit("open");
    await opened;
    assert.deepEqual(r.adopted, [conn]);
  });

  it("an accept that throws goes to the error event; null means nothing to hand over", () => {
    const throwing = run({ noServer: true }, request(), () => {
      throw new Error("no engine");
    });
    throwing.checks.admit(throwing.admission, undefined);
    assert.equal(throwing.errors[0]?.message, "no engine");
    assert.deepEqual(throwing.adopted, []);
    const none = run({ noServer: true }, request(), () => null);
    none.checks.admit(none.admission, undefined);
    assert.deepEqual(none.adopted, []);
    assert.deepEqual(none.errors, []);
  });

  it("header caps: too many fields or too many bytes is 431", () => {
    const many = run({ noServer: true, maxHeaderCount: 2 }, request("/", { a: "1", b: "2", c: "3" }));
    assert.equal(many.checks.withinCaps(many.admission), false);
    assert.equal(many.rejected[0]?.status, 431);
    const big = run({ noServer: true, maxHeaderBytes: 64 }, request("/", { a: "x".repeat(64) }));
    assert.equal(big.checks.withinCaps(big.admission), false);
    assert.equal(big.rejected[0]?.code, "HEADERS_TOO_LARGE");
    const fine = run({ noServer: true }, request("/", { a: "1" }));
    assert.equal(fine.checks.withinCaps(fine.admission), true);
    assert.deepEqual(fine.rejected, []);
  });

  it("originAllowed: only an origin the rule explicitly allows (CORS), never on a throwing rule", () => {
    const r = run({ noServer: true, origins: ["https://a.example"] });
    assert.equal(r.checks.originAllowed(request("/", { origin: "https://a.example" })), true);
    assert.equal(r.checks.originAllowed(request("/", { origin: "https://b.example" })), false);
    assert.equal(r.checks.originAllowed(request("/")), false);
    const throwing = run({
      noServer: true,
      origins: () => {
        throw new Error("boom");
      },
    });
    assert.equal(throwing.checks.originAllowed(request("/", { origin: "https://a.example" })), false);
    assert.equal(run({ noServer: true }).checks.originAllowed(request("/", { origin: "https://a.example" })), false);
  });

  it("pathOf: the target without its query", () => {
    assert.equal(pathOf("/chat?room=1"), "/chat");
    assert.equal(pathOf("/chat"), "/chat");
    assert.equal(pathOf(undefined), "/");
  });

  it("routeByPath: the handler of that path, else the first without a path", () => {
    const a = { path: "/a" };
    const any = { path: undefined };
    const other = { path: undefined };
    assert.equal(routeByPath([any, a, other], "/a"), a);
    assert.equal(routeByPath([any, a, other], "/b"), any);
    assert.equal(routeByPath([a], "/b"), undefined);
  });
});
