/**
 * permessage-deflate benchmark (not a test): echo of 1 KiB JSON over 1,000 connections, wirecable
 * (each memory preset) and ws side by side in one run. For each server: RSS per connection idle
 * after the handshake and after traffic (zlib streams allocated), and server CPU (user+sys from
 * /proc/PID/stat) per echoed message. Clients are `ws` with perMessageDeflate (as browsers:
 * context takeover, `client_max_window_bits` offered) in a separate process.
 *
 * Run: node --import tsx bench/deflate/echo.ts [--connections 1000] [--messages 30] [--repeat 3]
 *      [--out bench/results/deflate.md] [--only <name part>] [--cpu-prof]
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "1000" },
    messages: { type: "string", default: "30" },
    out: { type: "string", default: "bench/results/deflate.md" },
    only: { type: "string" },
    repeat: { type: "string", default: "3" },
    "cpu-prof": { type: "boolean", default: false },
  },
});
const CONNECTIONS = Number(values.connections);
const MESSAGES = Number(values.messages);

interface Variant {
  name: string;
  impl: "wirecable" | "ws";
  pmd: unknown;
}
const VARIANTS: Variant[] = [
  { name: "wirecable, no compression", impl: "wirecable", pmd: false },
  { name: "wirecable `shared` (default)", impl: "wirecable", pmd: { preset: "shared" } },
  { name: "wirecable `small`", impl: "wirecable", pmd: { preset: "small" } },
  { name: "wirecable `dedicated`", impl: "wirecable", pmd: { preset: "dedicated" } },
  { name: "ws, no compression", impl: "ws", pmd: false },
  { name: "ws `perMessageDeflate: true`", impl: "ws", pmd: true },
  {
    name: "ws, no context takeover",
    impl: "ws",
    pmd: { serverNoContextTakeover: true, clientNoContextTakeover: true },
  },
];

/**
 * 64 different ~1 KiB JSON messages (>= 1024 bytes, so that every preset's threshold lets them
 * compress): chat-like items whose users, words and numbers vary, from a fixed-seed PRNG. With
 * context takeover earlier messages still help (shared keys and vocabulary), as in real traffic;
 * no message is sent twice in a row on one connection.
 */
function jsonMessages(): string[] {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const words = "alpha beta gamma delta lobby ready join leave typing hello world update status online away".split(" ");
  const out: string[] = [];
  for (let m = 0; m < 64; m++) {
    const items = [];
    for (;;) {
      const text = Array.from({ length: 3 + rand(6) }, () => words[rand(words.length)]).join(" ");
      items.push({
        id: rand(1_000_000),
        user: `user${rand(500)}`,
        kind: rand(3) ? "message" : "presence",
        text,
        at: 1_700_000_000 + rand(86_400),
      });
      const s = JSON.stringify({ channel: `room:${rand(20)}`, seq: m, items });
      if (s.length >= 1024) {
        out.push(s);
        break;
      }
    }
  }
  return out;
}

function statFields(pid: number): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, "latin1");
  return s.slice(s.lastIndexOf(")") + 2).split(" ");
}
const CLK_TCK = 100;
/** [user, sys] CPU seconds of a process, all threads (fields 14 utime and 15 stime). */
const cpuSeconds = (pid: number): [number, number] => {
  const f = statFields(pid);
  return [Number(f[11]) / CLK_TCK, Number(f[12]) / CLK_TCK];
};
const rssKB = (pid: number) => Number(statFields(pid)[21]) * (4096 / 1024); // field 24, pages

function request<T>(child: ChildProcess, message: unknown, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (m.error) {
        child.off("message", onMessage);
        reject(new Error(String(m.error)));
      } else if (key in m) {
        child.off("message", onMessage);
        resolve(m as T);
      }
    };
    child.on("message", onMessage);
    if (message !== null) child.send(message as object);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  name: string;
  extensions: string;
  idleKB: number;
  activeKB: number;
  cpuUs: number;
  sysUs: number;
  /** TCP bytes per echo, server to client and client to server. */
  wireDown: number;
  wireUp: number;
  rate: number;
}

async function measure(v: Variant, payloads: string[]): Promise<Row> {
  const server = fork(new URL("./server.ts", import.meta.url).pathname, [v.impl, JSON.stringify(v.pmd)], {
    execArgv: [
      "--expose-gc",
      "--import",
      "tsx",
      ...(values["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir=/tmp/wc/prof"] : []),
    ],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const clients = fork(new URL("./clients.ts", import.meta.url).pathname, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const { port } = await request<{ port: number }>(server, null, "port");
    const pid = server.pid!;
    await sleep(300);
    await request(server, { cmd: "gc" }, "gc");
    const rss0 = rssKB(pid);
    const { extensions } = await request<{ extensions: string }>(
      clients,
      { cmd: "open", port, count: CONNECTIONS, deflate: v.pmd !== false },
      "opened",
    );
    await sleep(300);
    await request(server, { cmd: "gc" }, "gc");
    const rssIdle = rssKB(pid);
    // Warm-up: every connection compresses and inflates once (zlib streams exist afterwards).
    await request(clients, { cmd: "run", messages: 2, payloads }, "done");
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const wire = await request<{ wireDown: number; wireUp: number }>(
      clients,
      { cmd: "run", messages: MESSAGES, payloads },
      "done",
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuSeconds(pid);
    const user = cpu1[0] - cpu0[0];
    const sys = cpu1[1] - cpu0[1];
    await request(server, { cmd: "gc" }, "gc");
    const rssActive = rssKB(pid);
    const echoes = CONNECTIONS * MESSAGES;
    return {
      name: v.name,
      extensions: extensions || "(none)",
      idleKB: (rssIdle - rss0) / CONNECTIONS,
      activeKB: (rssActive - rss0) / CONNECTIONS,
      wireDown: wire.wireDown / echoes,
      wireUp: wire.wireUp / echoes,
      cpuUs: ((user + sys) / echoes) * 1e6,
      sysUs: (sys / echoes) * 1e6,
      rate: echoes / seconds,
    };
  } finally {
    clients.send({ cmd: "exit" });
    server.send({ cmd: "exit" });
    await sleep(200);
    clients.kill();
    server.kill();
  }
}

const payloads = jsonMessages();
const sizes = payloads.map((p) => p.length);
// Rounds interleave the variants (A B C, A B C...) so that a noisy neighbour hits them alike; the
// table shows the median of each figure over the rounds.
const REPEAT = Number(values.repeat);
const variants = VARIANTS.filter((v) => !values.only || v.name.includes(values.only));
const samples = new Map<string, Row[]>(variants.map((v) => [v.name, []]));
for (let round = 1; round <= REPEAT; round++) {
  for (const v of variants) {
    process.stderr.write(`[${round}/${REPEAT}] ${v.name}... `);
    const row = await measure(v, payloads);
    process.stderr.write(`${row.activeKB.toFixed(1)} KB/conn, ${row.cpuUs.toFixed(1)} us/echo\n`);
    samples.get(v.name)!.push(row);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const rows: Row[] = variants.map((v) => {
  const rs = samples.get(v.name)!;
  return {
    name: v.name,
    extensions: rs[0]!.extensions,
    idleKB: median(rs.map((r) => r.idleKB)),
    activeKB: median(rs.map((r) => r.activeKB)),
    cpuUs: median(rs.map((r) => r.cpuUs)),
    sysUs: median(rs.map((r) => r.sysUs)),
    wireDown: median(rs.map((r) => r.wireDown)),
    wireUp: median(rs.map((r) => r.wireUp)),
    rate: median(rs.map((r) => r.rate)),
  };
});

const cpu = os.cpus()[0]?.model ?? "unknown";
const table = [
  "| server | negotiated `Sec-WebSocket-Extensions` | RSS / idle conn (KB) | RSS / conn after traffic (KB) | server CPU / echo (µs) | of which sys (µs) | wire bytes / echo down, up | echoes/s |",
  "|---|---|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.name} | \`${r.extensions}\` | ${r.idleKB.toFixed(1)} | ${r.activeKB.toFixed(1)} | ${r.cpuUs.toFixed(1)} | ${r.sysUs.toFixed(1)} | ${Math.round(r.wireDown)}, ${Math.round(r.wireUp)} | ${Math.round(r.rate)} |`,
  ),
].join("\n");
const report = `# permessage-deflate benchmark

Echo of ~1 KiB JSON text messages (64 different ones, ${Math.min(...sizes)}-${Math.max(...sizes)} bytes), ${CONNECTIONS} connections, ${MESSAGES} round trips per
connection after a 2-message warm-up (one message in flight per connection). Median of ${REPEAT} rounds,
variants interleaved within each round. Clients: \`ws\` with
\`perMessageDeflate: true\` (context takeover, \`client_max_window_bits\` offered, as browsers) in a
separate process; "no compression" rows use clients without the extension.

- RSS per connection = (server RSS after the connections opened, or after the traffic, minus RSS
  before any connection) / ${CONNECTIONS}, each read after two full GCs (\`--expose-gc\`), from /proc/PID/stat.
- Server CPU per echo = (utime + stime of the server process during the run) / echoes: one inflate
  and one deflate per echo when compressed.
- Both servers run under \`node --import tsx\` (same loader, same baseline).

Command: \`node --import tsx bench/deflate/echo.ts --connections ${CONNECTIONS} --messages ${MESSAGES} --repeat ${REPEAT}\`

Load average at the end of the run: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} (the machine is shared:
figures from a busy machine are noisier, CPU per echo less so than echoes/s).

Machine: ${os.cpus().length} x ${cpu}, Node ${process.version}, ${new Date().toISOString()}

${table}
`;
writeFileSync(values.out!, report);
console.log(report);
