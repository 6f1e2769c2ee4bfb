/**
 * The package as a user gets it: `npm pack` of the working tree's files (prepack builds dist/
 * from scratch), `npm install <tarball>` into an empty project without dev dependencies and
 * offline (so nothing but the tarball can be installed), then:
 * - every `exports` entry loads with `import` and with `require`; the drop-in entries echo as
 *   ws does and give websocket-driver's Driver, from CommonJS;
 * - a broker whose optional peer is missing throws MissingPeerError naming the package;
 * - `wirecable --version`, and `wirecable serve` answering HTTP, from node_modules/.bin, alone
 *   and with the brokers the CLI bundles (Redis, NATS with JetStream);
 * - every source map and declaration map in the package resolves to a shipped file;
 * - every TypeScript snippet of README.md and docs/ typechecks against the installed types
 *   (strict, skipLibCheck false, NodeNext), and so does a file importing every entry;
 * - `npm install` leaves the committed package-lock.json unchanged.
 * The transcript (sizes, counts, each command and its output) is printed with WIRECABLE_PACK_LOG=1.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { startNats } from "../helpers/nats.js";
import { startRedis } from "../helpers/redis.js";
import { spawnTied } from "../helpers/tied-process.js";
import { TIME_SCALE } from "../helpers/time.js";

const root = resolve(import.meta.dirname, "..", "..");
const log = process.env.WIRECABLE_PACK_LOG === "1" ? (line: string) => console.log(line) : () => {};

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

/** Runs a command to completion (killed after `timeout` ms x the time scale). */
function run(cmd: string, args: string[], cwd: string, timeout = 60_000, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  log(`$ ${[cmd === process.execPath ? "node" : cmd, ...args].join(" ")}`);
  return new Promise((resolvePromise) => {
    const child = spawnTied(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout * TIME_SCALE);
    child.on("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** npm with the environment of a user's project, not of this test run. */
function npm(args: string[], cwd: string, timeout?: number): Promise<Result> {
  return run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], cwd, timeout, {
    NODE_ENV: "production",
    npm_config_update_notifier: "false",
  });
}

function ok(r: Result, what: string): string {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

function size(dir: string): number {
  return filesUnder(dir).reduce((sum, f) => sum + statSync(f).size, 0);
}

let base: string;
let tree: string;
let consumer: string;
let pkgDir: string;
let tarball: string;

before(async () => {
  base = mkdtempSync(join(tmpdir(), "wirecable-pack-"));
  tree = join(base, "tree");
  consumer = join(base, "consumer");
  // The files a clean clone has (tracked, plus new files not ignored), not dist/ or node_modules/.
  const listed = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root);
  for (const file of ok(listed, "git ls-files").split("\0")) {
    if (file === "") continue;
    const from = join(root, file);
    try {
      if (!statSync(from).isFile()) continue;
    } catch {
      continue; // deleted in the working tree
    }
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    cpSync(from, join(tree, file));
  }
  symlinkSync(join(root, "node_modules"), join(tree, "node_modules"), "dir");
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, "package.json"),
    `${JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }, null, 2)}\n`,
  );
});

after(() => {
  for (const child of children) child.kill("SIGKILL");
  if (base !== undefined && process.env.WIRECABLE_PACK_KEEP !== "1") rmSync(base, { recursive: true, force: true });
});

/** Joins a room of the demo with wirecable/client/node, says one thing and prints what comes back. */
const CHAT_SCRIPT = `
  import { createConsumer } from "wirecable/client/node";
  const consumer = createConsumer(process.argv[1]);
  const sub = consumer.subscriptions.create({ channel: "ChatChannel", room: "pack", name: "pat" }, {
    connected() { sub.perform("speak", { id: "m1", text: "through the broker" }); },
    received(data) {
      if (data.type === "message" && data.id === "m1") {
        console.log(data.type + " " + data.name + ": " + data.text);
        consumer.disconnect();
      } else if (data.type === "refused") { console.log("refused: " + data.reason); process.exit(1); }
    },
    rejected() { console.log("subscription rejected"); process.exit(1); },
  });`;

describe("the packed package, installed as a user installs it", { concurrency: false }, () => {
  it("npm pack builds dist/ from scratch (prepack) and packs only what users need", async () => {
    const out = ok(await npm(["pack", "--json", "--pack-destination", base], tree, 180_000), "npm pack");
    const [packed] = JSON.parse(out.slice(out.indexOf("["))) as Array<{
      filename: string;
      size: number;
      unpackedSize: number;
      files: Array<{ path: string }>;
    }>;
    tarball = join(base, packed!.filename);
    const files = packed!.files.map((f) => f.path);
    log(`packed ${packed!.filename}: ${files.length} files, ${packed!.size} bytes (${packed!.unpackedSize} unpacked)`);
    for (const f of ["LICENSE", "README.md", "package.json", "bin/wirecable.js", "dist/cli/index.js"]) {
      assert.ok(files.includes(f), `the tarball holds ${f}`);
    }
    assert.ok(files.includes("dist/cli/THIRD_PARTY_LICENSES.md"), "the bundle's license notices are shipped");
    assert.ok(files.includes("dist/cli/demo/public/app.js"), "the demo page is built");
    assert.ok(files.includes("src/node/connection.ts"), "the sources the maps point at are shipped");
    const stray = files.filter((f) => /^(test|bench|examples|scripts|docs|src\/cli)\/|\.test\.|\.min\.js$/.test(f));
    assert.deepEqual(stray, [], "nothing but the package");
    // Every .js under dist/ except the CLI's comes from a .ts under src/ (no leftovers of earlier builds).
    const orphans = files
      .filter((f) => /^dist\/(node|protocol|channels|client)\/.*\.js$/.test(f))
      .filter((f) => !files.includes(`src/${f.slice(5, -3)}.ts`));
    assert.deepEqual(orphans, []);
  });

  it("installs offline with no dependency: one package", async () => {
    ok(await npm(["install", "--omit=dev", "--offline", tarball], consumer, 120_000), "npm install");
    const modules = join(consumer, "node_modules");
    const installed = readdirSync(modules).filter((n) => !n.startsWith("."));
    assert.deepEqual(installed, ["wirecable"]);
    pkgDir = join(modules, "wirecable");
    const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    assert.equal(manifest.dependencies, undefined, "no runtime dependencies");
    const lock = JSON.parse(readFileSync(join(consumer, "package-lock.json"), "utf8"));
    const packages = Object.keys(lock.packages).filter((k) => k !== "");
    assert.deepEqual(packages, ["node_modules/wirecable"]);
    log(`installed: ${packages.length} package (${packages.join(", ")}), ${size(pkgDir)} bytes on disk`);
  });

  it("every exports entry loads with import and with require", async () => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    const entries = Object.keys(manifest.exports)
      .filter((k) => k !== "./package.json")
      .map((k) => (k === "." ? "wirecable" : `wirecable/${k.slice(2)}`));
    assert.ok(entries.length >= 5);
    // What require() gives: the ESM namespace (Node's require of ESM), or its "module.exports"
    // export when the module names one (a CommonJS-shaped entry such as ws's class).
    const keys = "(v) => Object.keys(v).filter((k) => k !== '__esModule').sort().join(',')";
    for (const entry of entries) {
      const spec = JSON.stringify(entry);
      const imported = ok(
        await run(
          process.execPath,
          [
            "--input-type=module",
            "-e",
            `const m = await import(${spec}); const keys = ${keys}; console.log(keys("module.exports" in m ? m["module.exports"] : m))`,
          ],
          consumer,
        ),
        `import ${entry}`,
      ).trim();
      const required = ok(
        await run(process.execPath, ["-e", `const keys = ${keys}; console.log(keys(require(${spec})))`], consumer),
        `require ${entry}`,
      ).trim();
      assert.ok(imported.split(",").length > 1, `${entry} exports something: ${imported}`);
      assert.equal(required, imported, `require("${entry}") gives what import gives`);
      log(`import/require ${entry}: ${imported.split(",").length} exports`);
    }
  });

  it("the drop-in entries work as ws and websocket-driver do, from CommonJS", async () => {
    // ws's shape: require gives the class, with Server on it; websocket-driver's: the Driver object.
    const script = `
      const WebSocket = require("wirecable/ws");
      const Driver = require("wirecable/driver");
      const wss = new WebSocket.Server({ port: 0, host: "127.0.0.1" }, () => {
        const ws = new WebSocket("ws://127.0.0.1:" + wss.address().port);
        ws.on("open", () => ws.send("hello"));
        ws.on("message", (data, isBinary) => {
          console.log(String(data), isBinary, typeof Driver.http, typeof Driver.server().parse);
          ws.close();
          wss.close();
        });
      });
      wss.on("connection", (conn) => conn.on("message", (data, isBinary) => conn.send(data, { binary: isBinary })));`;
    const out = ok(await run(process.execPath, ["-e", script], consumer), "ws and driver").trim();
    log(`ws echo + driver: ${out}`);
    assert.equal(out, "hello false function function");
  });

  it("a broker whose optional peer is not installed says which package to install", async () => {
    const script = `
      import { MissingPeerError, NatsBroker, PostgresBroker, RedisBroker, RedisClusterBroker } from "wirecable/channels";
      for (const Broker of [RedisBroker, RedisClusterBroker, PostgresBroker, NatsBroker]) {
        try { new Broker(); console.log("constructed"); }
        catch (e) { console.log(e instanceof MissingPeerError, e.code, e.message); }
      }`;
    const out = ok(await run(process.execPath, ["--input-type=module", "-e", script], consumer), "brokers").trim();
    log(out);
    assert.deepEqual(out.split("\n"), [
      'true ERR_WIRECABLE_MISSING_PEER RedisBroker needs the optional peer dependency "ioredis": npm install ioredis',
      'true ERR_WIRECABLE_MISSING_PEER RedisClusterBroker needs the optional peer dependency "ioredis": npm install ioredis',
      'true ERR_WIRECABLE_MISSING_PEER PostgresBroker needs the optional peer dependency "pg": npm install pg',
      'true ERR_WIRECABLE_MISSING_PEER NatsBroker needs the optional peer dependency "@nats-io/transport-node": npm install @nats-io/transport-node',
    ]);
  });

  it("wirecable --version and --help run from node_modules/.bin", async () => {
    const bin = join(consumer, "node_modules", ".bin", "wirecable");
    const version = ok(await run(bin, ["--version"], consumer), "wirecable --version").trim();
    log(version);
    assert.equal(version, JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
    const help = ok(await run(bin, ["--help"], consumer), "wirecable --help");
    for (const command of ["serve", "connect", "echo", "broadcast", "bench"]) assert.match(help, new RegExp(command));
  });

  it("wirecable serve answers HTTP (page, /healthz) and stops on SIGTERM", () => serve([]));

  it("wirecable serve --redis: the CLI's own Redis client (no ioredis installed)", async () => {
    const redis = await startRedis();
    try {
      await serve(["--redis", redis.url], { chat: true });
    } finally {
      await redis.stop();
    }
  });

  it("wirecable serve --broker nats://: the CLI's own NATS client and JetStream (none installed)", async () => {
    const nats = await startNats({ jetstream: true });
    try {
      await serve(["--broker", nats.url], { chat: true });
    } finally {
      await nats.stop();
    }
  });

  /**
   * `wirecable serve` from node_modules/.bin until it answers HTTP; with `chat`, a message also
   * goes through a room (the broker's publish and, on the brokers that keep it, its history),
   * from the installed package's own ActionCable consumer.
   */
  async function serve(extra: string[], { chat = false } = {}): Promise<void> {
    const bin = join(consumer, "node_modules", ".bin", "wirecable");
    log(`$ wirecable serve --port 0 ${extra.join(" ")}`);
    const child = spawnTied(bin, ["serve", "--port", "0", "--log-level", "warn", ...extra], {
      cwd: consumer,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        const m = /http:\/\/\S+/.exec(out);
        if (m) resolveUrl(m[0]);
      });
      child.on("close", (code) => reject(new Error(`serve exited (${code}) before printing its URL: ${stderr}`)));
    });
    log(url);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await page.text(), /<html/);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    log(`GET / -> ${page.status}, GET /healthz -> ${health.status} ${await health.text()}`);
    if (chat) {
      const said = ok(
        await run(
          process.execPath,
          ["--input-type=module", "-e", CHAT_SCRIPT, `${url.replace(/^http/, "ws")}/cable`],
          consumer,
        ),
        "a chat message through the room",
      ).trim();
      log(`chat through ${extra.join(" ")}: ${said}`);
      assert.equal(said, "message pat: through the broker");
    }
    child.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
    children.delete(child);
  }

  it("every source map and declaration map points at a shipped file", () => {
    const maps = filesUnder(pkgDir).filter((f) => f.endsWith(".map"));
    assert.ok(maps.length > 100, `maps shipped: ${maps.length}`);
    const broken: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot = "" } = JSON.parse(readFileSync(map, "utf8")) as {
        sources: string[];
        sourceRoot?: string;
      };
      for (const source of sources) {
        const target = resolve(dirname(map), sourceRoot, source);
        try {
          statSync(target);
        } catch {
          broken.push(`${relative(pkgDir, map)} -> ${source}`);
        }
      }
    }
    assert.deepEqual(broken, []);
    log(`${maps.length} maps, every source resolves`);
  });

  it("README.md and docs/ TypeScript snippets typecheck against the installed package (strict, no skipLibCheck)", async () => {
    const dir = join(consumer, "snippets");
    mkdirSync(dir);
    const docs = ["README.md", ...filesUnder(join(root, "docs")).map((f) => relative(root, f))].filter(
      (f) => f.endsWith(".md") && !f.startsWith("docs/api/"),
    );
    const written: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(join(root, doc), "utf8");
      let n = 0;
      for (const m of text.matchAll(/^```(ts|typescript)\s*\n([\s\S]*?)^```/gm)) {
        const code = m[2]!;
        const name = `${doc.replace(/[/.]/g, "_")}_${++n}.ts`;
        // A snippet without import/export is still a module (no globals shared between snippets).
        writeFileSync(join(dir, name), /^\s*(import|export)\s/m.test(code) ? code : `${code}\nexport {};\n`);
        written.push(name);
      }
    }
    // Every entry's declarations, whether a snippet uses it or not.
    writeFileSync(
      join(dir, "all-entries.ts"),
      [
        'import * as node from "wirecable";',
        'import * as protocol from "wirecable/protocol";',
        'import * as channels from "wirecable/channels";',
        'import * as client from "wirecable/client";',
        'import * as clientNode from "wirecable/client/node";',
        'import Driver from "wirecable/driver";',
        'import WebSocket from "wirecable/ws";',
        "console.log(node, protocol, channels, client, clientNode);",
        "// ws's names as @types/ws users write them; websocket-driver's factory.",
        "const server: WebSocket.Server = new WebSocket.Server({ noServer: true });",
        "const data: WebSocket.RawData = Buffer.from('x');",
        "const parser = Driver.server();",
        "console.log(server, data, parser);",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            lib: ["ES2023"],
            strict: true,
            skipLibCheck: false,
            noEmit: true,
            // A TypeScript user's own dev dependency; wirecable ships no @types.
            typeRoots: [join(root, "node_modules", "@types")],
            types: ["node"],
          },
          include: ["snippets"],
        },
        null,
        2,
      ),
    );
    log(`snippets: ${written.length} from ${docs.length} files (+ all-entries.ts)`);
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const r = await run(process.execPath, [tsc, "-p", "tsconfig.json", "--pretty", "false"], consumer, 120_000);
    assert.equal(r.code, 0, `tsc:\n${r.stdout}${r.stderr}`);
    assert.ok(written.length >= 10, `snippets found: ${written.join(", ")}`);
    log(`tsc --strict --skipLibCheck false: ${written.length + 1} files, no errors`);
  });

  it("npm install leaves the committed package-lock.json unchanged", async () => {
    const before = readFileSync(join(tree, "package-lock.json"), "utf8");
    ok(await npm(["install", "--package-lock-only", "--offline", "--ignore-scripts"], tree, 120_000), "npm install");
    assert.equal(readFileSync(join(tree, "package-lock.json"), "utf8"), before);
  });
});
