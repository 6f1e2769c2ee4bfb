/**
 * The layer diagram of docs/DEVELOPING.md, checked on the sources. Every file under src/ belongs
 * to one part; each part may import only the parts the diagram allows (and, across parts, only
 * what the diagram says: a part's index, or the engine's modules for its host), node:* only where
 * I/O lives, and npm packages only where the diagram names them. The table below IS the
 * diagram: change both together.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";

const root = resolve(import.meta.dirname, "..");
const src = join(root, "src");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, Record<string, string>>;

type Part = "protocol" | "cable" | "node" | "ws" | "driver" | "channels" | "client" | "entries" | "cli";

interface Rule {
  /** Parts this one may import, and which of their modules: "index" (the part's index.ts) or "any". */
  imports: Partial<Record<Part, "index" | "any">>;
  /** Modules of an allowed part that stay off limits even so (paths relative to src/). */
  forbidden?: string[];
  /** node:* modules. */
  node: boolean;
  /** npm packages imported at run time, or "declared": any package named in package.json. */
  packages: readonly string[] | "declared";
  /** npm packages imported for their types only (optional peers, loaded through loadPeer). */
  typePackages?: readonly string[];
}

/** The brokers' optional peers (loaded through loadPeer, imported for their types only). */
const PEERS = ["ioredis", "pg", "@nats-io/transport-node", "@nats-io/jetstream"];

/** The diagram. */
const RULES: Record<Part, Rule> = {
  // The sans-I/O engine: bytes in, events and bytes out.
  protocol: { imports: {}, node: false, packages: [] },
  // The ActionCable wire format, shared by the cable server and the browser consumer.
  cable: { imports: {}, node: false, packages: [] },
  // The engine's host on Node: sockets, timers, zlib. Frame bits are the engine's.
  node: { imports: { protocol: "any" }, forbidden: ["protocol/frames/"], node: true, packages: [] },
  // ws's API (wirecable/ws): another face of the Node layer, on its Connection.
  ws: { imports: { node: "any", protocol: "any" }, forbidden: ["protocol/frames/"], node: true, packages: [] },
  // websocket-driver's API (wirecable/driver): another host of the engine, on Node streams.
  driver: { imports: { protocol: "any" }, forbidden: ["protocol/frames/"], node: true, packages: [] },
  // Channels over the Node server: no frames, no engine; brokers' clients are optional peers.
  channels: {
    imports: { node: "index", cable: "any" },
    node: true,
    packages: [],
    typePackages: PEERS,
  },
  // The isomorphic client: browser-safe, nothing of Node. Its HTTP fallback reads the fallback's
  // wire module and frames its upstream with the engine's frame encoder (not the engine: the
  // bundle stays small).
  client: {
    imports: { cable: "any", protocol: "any" },
    forbidden: ["protocol/engine", "protocol/frames/frame-parser", "protocol/extensions/", "protocol/legacy/"],
    node: false,
    packages: [],
  },
  // Entry points that compose layers (wirecable/client/node).
  entries: { imports: { client: "index", node: "index" }, node: false, packages: [] },
  // The application: the CLI and its demo.
  cli: {
    imports: { node: "index", channels: "index", client: "index", cable: "any", protocol: "index" },
    node: true,
    packages: "declared",
    typePackages: PEERS,
  },
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

interface Import {
  spec: string;
  /** Only types are imported (erased at run time). */
  typeOnly: boolean;
}

/** Every module a file imports or re-exports: static (with `type` noted), dynamic, and `import("x")` types. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const found: Import[] = [];
  for (const m of text.matchAll(/(?:^|[\n;])\s*(import|export)\s+([^'";]*?)\s*from\s*["']([^"']+)["']/g)) {
    const clause = m[2]!;
    const typeOnly =
      /^type\s/.test(clause) ||
      (/^\{[\s\S]*\}$/.test(clause) &&
        clause
          .slice(1, -1)
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0)
          .every((s) => s.startsWith("type ")));
    found.push({ spec: m[3]!, typeOnly });
  }
  for (const m of text.matchAll(/(?:^|[\n;])\s*import\s*["']([^"']+)["']/g))
    found.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/(typeof\s+)?import\(\s*["']([^"']+)["']\s*\)/g)) {
    found.push({ spec: m[2]!, typeOnly: m[1] !== undefined });
  }
  return found;
}

function partOf(path: string): Part | undefined {
  const first = relative(src, path).split(sep)[0];
  return first !== undefined && first in RULES ? (first as Part) : undefined;
}

function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

const declared = new Set([
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.devDependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
  ...Object.keys(pkg.optionalDependencies ?? {}),
]);

/** What is wrong with one import of `file` (part `from`), or undefined. */
function violation(file: string, from: Part, imp: Import): string | undefined {
  const rule = RULES[from];
  const { spec } = imp;
  if (spec.startsWith("node:")) return rule.node ? undefined : "node:* outside the I/O layers";
  if (!spec.startsWith(".")) {
    const name = packageName(spec);
    if (imp.typeOnly && rule.typePackages?.includes(name)) return undefined;
    if (rule.packages === "declared") return declared.has(name) ? undefined : `${name} is not in package.json`;
    return rule.packages.includes(name) ? undefined : `package ${name} not allowed in ${from}`;
  }
  const target = resolve(join(file, ".."), spec);
  const to = partOf(target);
  if (to === undefined) return "outside src/ or into a part the diagram does not name";
  if (to === from) return undefined;
  const allowed = rule.imports[to];
  if (allowed === undefined) return `${from} may not import ${to}`;
  const rel = relative(src, target).split(sep).join("/");
  if (allowed === "index" && rel !== `${to}/index.js`) return `${from} may import ${to} only through ${to}/index`;
  if (rule.forbidden?.some((f) => rel.startsWith(f))) return `${rel} is off limits to ${from}`;
  return undefined;
}

describe("the layer diagram (docs/DEVELOPING.md)", () => {
  const files = sources(src);

  it("every source file belongs to a part of the diagram", () => {
    assert.ok(files.length > 100, "the scan found the sources");
    assert.deepEqual(
      files.filter((f) => partOf(f) === undefined).map((f) => relative(root, f)),
      [],
    );
  });

  for (const part of Object.keys(RULES) as Part[]) {
    it(`${part}: imports only what the diagram allows`, () => {
      const found: string[] = [];
      let scanned = 0;
      for (const file of files) {
        if (partOf(file) !== part) continue;
        for (const imp of importsOf(file)) {
          scanned++;
          const why = violation(file, part, imp);
          if (why !== undefined) found.push(`${relative(root, file)} imports ${imp.spec}: ${why}`);
        }
      }
      assert.ok(scanned > 0, `no import found in ${part}`);
      assert.deepEqual(found, []);
    });
  }

  it("the checker itself catches each kind of violation", () => {
    const in_ = (part: Part, path: string) => join(src, part, path);
    const bad: Array<[Part, string, Import]> = [
      ["protocol", in_("protocol", "engine.ts"), { spec: "node:net", typeOnly: false }],
      ["protocol", in_("protocol", "engine.ts"), { spec: "../node/connection.js", typeOnly: false }],
      ["client", in_("client", "index.ts"), { spec: "../node/websocket.js", typeOnly: false }],
      ["client", in_("client", "index.ts"), { spec: "node:events", typeOnly: false }],
      ["node", in_("node", "connection.ts"), { spec: "../protocol/frames/frame-encoder.js", typeOnly: false }],
      ["node", in_("node", "connection.ts"), { spec: "../client/index.js", typeOnly: false }],
      ["node", in_("node", "connection.ts"), { spec: "ws", typeOnly: false }],
      ["channels", in_("channels", "channel.ts"), { spec: "../protocol/engine.js", typeOnly: false }],
      ["channels", in_("channels", "channel.ts"), { spec: "../node/connection.js", typeOnly: false }],
      ["channels", in_("channels", "brokers/redis.ts"), { spec: "ioredis", typeOnly: false }],
      ["cable", in_("cable", "protocol.ts"), { spec: "../channels/index.js", typeOnly: false }],
      ["entries", in_("entries", "client-node.ts"), { spec: "../node/websocket.js", typeOnly: false }],
      ["cli", in_("cli", "serve.ts"), { spec: "not-a-declared-package", typeOnly: false }],
    ];
    for (const [part, file, imp] of bad) assert.ok(violation(file, part, imp), `${part} -> ${imp.spec} passed`);
    assert.equal(
      violation(in_("channels", "brokers/redis.ts"), "channels", { spec: "ioredis", typeOnly: true }),
      undefined,
    );
    assert.equal(
      violation(in_("node", "server.ts"), "node", { spec: "../protocol/engine.js", typeOnly: false }),
      undefined,
    );
    assert.deepEqual(
      importsOf(join(src, "entries", "client-node.ts")).map((i) => i.spec),
      ["../client/index.js", "../node/index.js", "../client/index.js"],
    );
  });
});

/** What hides a call from "go to definition": a function kept in a module-level `let`, or a `static {}` block filling one. */
function hiddenCalls(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*static\s*\{/gm)) found.push(`static block: ${m[0].trim()}`);
  for (const m of text.matchAll(/^let\s+(\w+)\s*(?::\s*\(|=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|\w+\s*=>))/gm))
    found.push(`function in a module-level let: ${m[1]}`);
  return found;
}

describe("the call graph is followable (docs/DEVELOPING.md, How code is written here)", () => {
  it("no source keeps a function in a module-level let or fills one from a static block", () => {
    const found: string[] = [];
    for (const file of sources(src)) {
      for (const why of hiddenCalls(readFileSync(file, "utf8"))) found.push(`${relative(root, file)}: ${why}`);
    }
    assert.deepEqual(found, []);
  });

  it("the check catches each form", () => {
    assert.equal(hiddenCalls("class A {\n  static {\n    f = () => 1;\n  }\n}").length, 1);
    assert.equal(hiddenCalls("let bind: (a: A) => void;").length, 1);
    assert.equal(hiddenCalls("let f = (a) => a;").length, 1);
    assert.equal(hiddenCalls("let g = async function () {};").length, 1);
    assert.equal(hiddenCalls("let h = x => x;").length, 1);
    assert.deepEqual(hiddenCalls("let dirty: Flushable[] = [];\nlet scheduled = false;"), []);
  });
});
