// Every command has --help (exit 0) and refuses every bad option with a clear message and a
// non-zero exit status, before starting anything.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ensureBuilt, root, runCli, stopAll } from "./helpers.js";

before(() => ensureBuilt());
after(() => stopAll());

async function fails(args: string[], message: RegExp): Promise<void> {
  const r = await runCli(args, { input: "" });
  assert.notEqual(r.code, 0, `expected a failure for ${args.join(" ")}`);
  assert.equal(r.signal, null, `timed out: ${args.join(" ")}`);
  assert.match(r.stderr, message, `stderr of ${args.join(" ")}: ${r.stderr}`);
  // One line saying what is wrong, and a hint; never the whole help.
  assert.doesNotMatch(r.stderr, /Usage:/, `no help dump for ${args.join(" ")}`);
  if (r.stderr.startsWith("error:")) {
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, `one line and a hint: ${r.stderr}`);
    assert.match(lines[1]!, /^\(wirecable (\S+ --help lists its options|--help lists the commands)\)$/);
  }
}

async function helps(command: string, mentions: string[]): Promise<void> {
  const r = await runCli([command, "--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Usage: wirecable ${command}`));
  for (const m of mentions) assert.ok(r.stdout.includes(m), `${command} --help mentions ${m}`);
}

describe("wirecable (program)", { concurrency: 4 }, () => {
  it("--help lists every command", async () => {
    const r = await runCli(["--help"]);
    assert.equal(r.code, 0);
    for (const c of ["serve", "connect", "echo", "broadcast", "autobahn-client", "bench"]) {
      assert.match(r.stdout, new RegExp(`\\b${c}\\b`), `lists ${c}`);
    }
  });
  it("an unknown command fails", () => fails(["nope"], /unknown command 'nope'/));
  it("-V and --version print the version", async () => {
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    for (const flag of ["-V", "--version"]) {
      const r = await runCli([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
  });
});

describe("wirecable serve (options)", { concurrency: 4 }, () => {
  it("--help", () =>
    helps("serve", ["--port", "--host", "--broker", "--redis", "--workers", "--origin", "--log-level"]));
  it("--port abc", () => fails(["serve", "--port", "abc"], /expected a port number/));
  it("--port 70000", () => fails(["serve", "--port", "70000"], /expected a port number/));
  it("--port -1", () => fails(["serve", "--port", "-1"], /expected a port number|unknown option/));
  it("--workers 0", () => fails(["serve", "--workers", "0"], /expected a number of workers/));
  it("--workers two", () => fails(["serve", "--workers", "two"], /expected a number of workers/));
  it("--redis http://x", () => fails(["serve", "--redis", "http://127.0.0.1:6379"], /expected a redis:\/\//));
  it("--redis not-a-url", () => fails(["serve", "--redis", "nope"], /expected a redis:\/\//));
  it("--broker http://x", () =>
    fails(["serve", "--broker", "http://127.0.0.1:6379"], /expected a broker URL \(memory, redis:\/\//));
  it("--broker and --redis", () =>
    fails(["serve", "--broker", "nats://127.0.0.1:1", "--redis", "redis://127.0.0.1:1"], /cannot be used with/));
  it("an unreachable NATS", () =>
    fails(["serve", "--port", "0", "--broker", "nats://127.0.0.1:1"], /could not start.*broker at nats:/));
  it("--origin not-a-url", () => fails(["serve", "--origin", "nope"], /expected an origin/));
  it("--origin ftp://x", () => fails(["serve", "--origin", "ftp://example.com"], /expected an http/));
  it("--host with a space", () => fails(["serve", "--host", "a b"], /expected a host/));
  it("--log-level loud", () => fails(["serve", "--log-level", "loud"], /Allowed choices/));
  it("--bogus", () => fails(["serve", "--bogus"], /unknown option '--bogus'/));
  it("a port already in use", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    try {
      const { port } = blocker.address() as { port: number };
      await fails(["serve", "--port", String(port)], /port \d+ is already in use/);
    } finally {
      blocker.close();
    }
  });
  it("an unreachable Redis", () =>
    fails(["serve", "--port", "0", "--redis", "redis://127.0.0.1:1"], /could not start/));
});

describe("wirecable connect (options)", { concurrency: 4 }, () => {
  it("--help", () =>
    helps("connect", ["--subprotocol", "--header", "--proxy", "--insecure", "--deflate", "/ping", "/close", "/quit"]));
  it("--help lists wscat's flags", () =>
    helps("connect", [
      "-c, --connect",
      "--auth",
      "-n, --no-check",
      "--ca",
      "--cert",
      "--key",
      "--passphrase",
      "-P",
      "-x",
      "-w",
      "-o",
      "-L",
    ]));
  it("no URL", () => fails(["connect"], /missing the URL: wirecable connect <url>, or -c <url>/));
  it("two different URLs", () => fails(["connect", "ws://127.0.0.1:1", "-c", "ws://127.0.0.1:2"], /give the URL once/));
  it("-c http://", () => fails(["connect", "-c", "http://127.0.0.1:1"], /expected a ws:\/\/ or wss:\/\/ URL/));
  it("--auth without a colon", () =>
    fails(["connect", "ws://127.0.0.1:1", "--auth", "user"], /expected "user:password"/));
  it("--ca of a missing file", () =>
    fails(
      ["connect", "ws://127.0.0.1:1", "--ca", "/nonexistent/ca.pem"],
      /cannot read "\/nonexistent\/ca.pem": ENOENT/,
    ));
  it("--max-redirects abc", () =>
    fails(["connect", "ws://127.0.0.1:1", "--max-redirects", "abc"], /expected 0-100 redirects/));
  it("an http:// URL", () => fails(["connect", "http://127.0.0.1:1"], /expected a ws:\/\/ or wss:\/\/ URL/));
  it("--header without a colon", () =>
    fails(["connect", "ws://127.0.0.1:1", "--header", "nocolon"], /expected "Name: value"/));
  it("--header with a bad name", () =>
    fails(["connect", "ws://127.0.0.1:1", "--header", "Bad Name: x"], /expected "Name: value"/));
  it("--subprotocol with a space", () =>
    fails(["connect", "ws://127.0.0.1:1", "--subprotocol", "a b"], /not a valid subprotocol/));
  it("--proxy ftp://", () => fails(["connect", "ws://127.0.0.1:1", "--proxy", "ftp://x"], /proxy URL/));
  it("--origin nope", () => fails(["connect", "ws://127.0.0.1:1", "--origin", "nope"], /expected an origin/));
  it("--wait -1", () => fails(["connect", "ws://127.0.0.1:1", "--wait", "-1"], /expected seconds/));
  it("--timeout abc", () => fails(["connect", "ws://127.0.0.1:1", "--timeout", "abc"], /expected seconds/));
  it("--bogus", () => fails(["connect", "ws://127.0.0.1:1", "--bogus"], /unknown option '--bogus'/));
  it("a refused connection", () =>
    fails(["connect", "ws://127.0.0.1:1"], /could not connect to ws:\/\/127\.0\.0\.1:1/));
});

describe("wirecable echo / broadcast / autobahn-client / bench (options)", { concurrency: 4 }, () => {
  it("echo --help", () =>
    helps("echo", ["--port", "--host", "--deflate", "--legacy-drafts", "env: PORT", "env: HOST"]));
  it("echo without --port", () => fails(["echo"], /required option '-p, --port <port>' not specified/));
  it("echo --port abc", () => fails(["echo", "--port", "abc"], /expected a port number/));
  it("echo --bogus", () => fails(["echo", "--port", "0", "--bogus"], /unknown option/));
  it("broadcast --help", () => helps("broadcast", ["--port", "--host", "--legacy-drafts"]));
  it("PORT=abc", async () => {
    const r = await runCli(["echo"], { input: "", env: { PORT: "abc" } });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: option '-p, --port <port>' value 'abc' from env 'PORT' is invalid\. expected a port number/,
    );
  });
  it("broadcast without --port", () => fails(["broadcast"], /required option/));
  it("broadcast --port 99999", () => fails(["broadcast", "--port", "99999"], /expected a port number/));
  it("autobahn-client --help", () => helps("autobahn-client", ["--url", "--agent", "--deflate"]));
  it("autobahn-client without --url", () => fails(["autobahn-client"], /required option/));
  it("autobahn-client --url http://x", () =>
    fails(["autobahn-client", "--url", "http://127.0.0.1:9001"], /expected a ws:\/\/ or wss:\/\/ URL/));
  it("autobahn-client --agent 'a b'", () =>
    fails(["autobahn-client", "--url", "ws://127.0.0.1:9001", "--agent", "a b"], /expected a name/));
  it("bench --help", () => helps("bench", ["--quick", "--only", "--servers", "--out"]));
  it("bench --bogus", () => fails(["bench", "--bogus"], /unknown option/));
  it("bench --servers ws,nope", () =>
    fails(
      ["bench", "--servers", "ws,nope"],
      /--servers <servers>' argument 'ws,nope' is invalid\. unknown: nope; known: wirecable, (.+, )?ws,/,
    ));
  it("bench --only nope", () => fails(["bench", "--only", "nope"], /unknown: nope; known: small-echo/));
  it("bench --only with an empty name", () => fails(["bench", "--only", "small-echo,"], /an empty name/));
  it("bench --window abc", () => fails(["bench", "--window", "abc"], /positive number/));
  it("bench --warmup -1", () => fails(["bench", "--warmup", "-1"], /positive number/));
  it("bench --workers 1.5", () => fails(["bench", "--workers", "1.5"], /whole number/));
  it("bench --repeat 0", () => fails(["bench", "--repeat", "0"], /whole number/));
});
