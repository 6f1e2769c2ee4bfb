/**
 * Client conformance over real TCP (Autobahn "fuzzingserver" mode): our stand-in fuzzing server
 * (test/helpers/autobahn-fuzzingserver.ts) plays every case of sections 1-7, 9 and 10 at
 * Autobahn's sizes and counts, and reduced 12.x/13.x cases, to `wirecable autobahn-client`, once
 * without and once with --deflate; every case must be OK (compression cases are UNIMPLEMENTED
 * without --deflate, as in Autobahn's reports), and /updateReports must have written the report.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { AutobahnFuzzingServer } from "../../helpers/autobahn-fuzzingserver.js";
import { spawnTied } from "../../helpers/tied-process.js";

const root = new URL("../../../", import.meta.url).pathname;

function runClient(
  port: number,
  agent: string,
  deflate: boolean,
  extraArgs: string[] = [],
): Promise<{ code: number | null; output: string }> {
  const args = ["bin/wirecable.js", "autobahn-client", "--url", `ws://127.0.0.1:${port}`];
  args.push("--agent", agent);
  if (deflate) args.push("--deflate");
  args.push(...extraArgs);
  const child = spawnTied(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The client-testee flow with `ws` (a reference peer), optionally broken on purpose. */
async function runWsClient(port: number, agent: string, broken: boolean): Promise<void> {
  const base = `ws://127.0.0.1:${port}`;
  const open = (path: string) =>
    new WebSocket(`${base}${path}`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  const counter = open("/getCaseCount");
  const count = await new Promise<number>((r) => counter.once("message", (d: Buffer) => r(Number(String(d)))));
  await new Promise((r) => counter.once("close", r));
  for (let i = 1; i <= count; i++) {
    const ws = open(`/runCase?case=${i}&agent=${agent}`);
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      // broken: text echoed with one octet dropped
      ws.send(broken && !isBinary ? data.subarray(1) : data, { binary: isBinary });
    });
    ws.on("error", () => {});
    await new Promise((r) => ws.once("close", r));
  }
  const reports = open(`/updateReports?agent=${agent}`);
  await new Promise((r) => reports.once("close", r));
}

let reportDir: string;
let server: AutobahnFuzzingServer;
let port: number;
before(async () => {
  reportDir = mkdtempSync(join(tmpdir(), "wirecable-autobahn-"));
  server = new AutobahnFuzzingServer({ reportDir });
  port = await server.listen();
});
let cleanupRef: (() => Promise<void>) | undefined;
after(async () => {
  await cleanupRef?.();
  await server?.close();
  if (reportDir) rmSync(reportDir, { recursive: true, force: true });
});

describe("wirecable autobahn-client against the fuzzing server", { timeout: 200_000 }, () => {
  for (const deflate of [false, true]) {
    const agent = deflate ? "wirecable-deflate" : "wirecable";
    it(`every case OK (agent ${agent}${deflate ? ", --deflate" : ""}) and the report written`, async () => {
      const { code, output } = await runClient(port, agent, deflate);
      assert.equal(code, 0, `autobahn-client exited with ${code}: ${output}`);
      assert.match(output, new RegExp(`^${server.cases.length} cases`, "m"));
      const results = server.results.get(agent);
      assert.ok(results, `no results for ${agent}: ${output}`);
      const missing = server.cases.filter((c) => !results.has(c.id)).map((c) => c.id);
      assert.deepEqual(missing, [], `cases without a verdict: ${output}`);
      const bad: string[] = [];
      for (const r of results.values()) {
        const compression = /^1[23]\./.test(r.id);
        const want = compression && !deflate ? "UNIMPLEMENTED" : "OK";
        if (r.behavior !== want) bad.push(`${r.id} (${r.description}): ${r.behavior}, ${r.detail}`);
      }
      assert.deepEqual(bad, [], `cases not ${deflate ? "OK" : "OK/UNIMPLEMENTED"}`);
      const report = JSON.parse(readFileSync(join(reportDir, "index.json"), "utf8"));
      assert.equal(Object.keys(report[agent]).length, server.cases.length);
      assert.ok(existsSync(join(reportDir, "index.md")));
    });
  }
  it("reference check: the `ws` client passes the same cases, and a broken echo is graded FAILED", async () => {
    // Without the cases of 4-16 MiB and the chopped ones: they grade as the smaller ones do, and
    // ws masks in JavaScript here (npm runs no install scripts, so no bufferutil build): seconds.
    const heavy = ["9.1.4", "9.1.5", "9.1.6", "9.2.4", "9.2.5", "9.2.6", "9.5.", "9.6."];
    const refDir = mkdtempSync(join(tmpdir(), "wirecable-autobahn-"));
    const refServer = new AutobahnFuzzingServer({ reportDir: refDir, excludeCases: heavy });
    cleanupRef = async () => {
      await refServer.close();
      rmSync(refDir, { recursive: true, force: true });
    };
    await runWsClient(await refServer.listen(), "ws-reference", false);
    const ref = refServer.results.get("ws-reference")!;
    const notOk = [...ref.values()].filter((r) => r.behavior !== (/^1[23]\./.test(r.id) ? "UNIMPLEMENTED" : "OK"));
    // ws's known differences (its Autobahn reports agree): UTF-8 is checked per message, not
    // per frame (6.4.x NON-STRICT), and it caps the fragments of a message (9.3.1/9.3.2/9.4.1/
    // 9.4.2, 65,537 and 16,385 frames: 1008).
    assert.deepEqual(
      notOk.map((r) => `${r.id}: ${r.behavior}`),
      [
        "6.4.1: NON-STRICT",
        "6.4.2: NON-STRICT",
        "6.4.3: NON-STRICT",
        "6.4.4: NON-STRICT",
        "9.3.1: FAILED",
        "9.3.2: FAILED",
        "9.4.1: FAILED",
        "9.4.2: FAILED",
      ],
      notOk.map((r) => `${r.id}: ${r.detail}`).join("; "),
    );
    const dir = mkdtempSync(join(tmpdir(), "wirecable-autobahn-"));
    const few = new AutobahnFuzzingServer({ reportDir: dir, cases: ["1.1.2", "1.2.2", "6.2.4"] });
    try {
      await runWsClient(await few.listen(), "ws-broken", true);
      const broken = few.results.get("ws-broken")!;
      assert.equal(broken.get("1.1.2")?.behavior, "FAILED");
      assert.equal(broken.get("6.2.4")?.behavior, "FAILED");
      assert.equal(broken.get("1.2.2")?.behavior, "OK"); // binary echoed intact
    } finally {
      await few.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("9.3.1 with the library's default limit (--max-fragments 4096): the client fails it with 1009", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wirecable-autobahn-"));
    const only = new AutobahnFuzzingServer({ reportDir: dir, cases: ["9.3.1"] });
    try {
      const { code, output } = await runClient(await only.listen(), "limited", false, ["--max-fragments", "4096"]);
      assert.equal(code, 0, output);
      const r = only.results.get("limited")?.get("9.3.1");
      assert.equal(r?.behavior, "FAILED");
      assert.match(r?.detail ?? "", /close 1009/);
    } finally {
      await only.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("the case list covers sections 1-7, 9, 10, 12 and 13", () => {
    const sections = new Set(server.cases.map((c) => c.id.split(".")[0]));
    assert.deepEqual(
      [...sections].sort((a, b) => Number(a) - Number(b)),
      ["1", "2", "3", "4", "5", "6", "7", "9", "10", "12", "13"],
    );
  });
});
