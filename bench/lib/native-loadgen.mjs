// The native load generator (loadgen.c: C, epoll) behind the interface of processes.mjs's
// startLoadgen: { pid, connect(config), start(), mark(), stop() }.
// Contract: `buildNativeLoadgen()` compiles loadgen.c with the system's C compiler into
// bench/.work/ once per source change (gcc from Debian; `scripts/setup-test-env.sh` is not
// needed for it) and returns the binary's path, or throws with the compiler's message.
// `startNativeLoadgen()` spawns it under `ulimit -n <hard limit>`; the request and frame bytes of
// each group are built here (frames.mjs, the one home of frame building) and handed over as files.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { handshakeRequest, maskedFrame } from "./frames.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const SOURCE = `${ROOT}bench/lib/loadgen.c`;
const ULIMIT = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
/**
 * Bytes per write() call by default: 0, everything queued in one call, as clients hand frames to
 * the kernel (see loadgen.c); 65536 was the default until session 6 (bench/results/profile.md).
 */
export const DEFAULT_WRITE_SIZE = 0;

let built = null;

/** Compiles loadgen.c (cached by the source's hash) and returns the binary's path. */
export function buildNativeLoadgen() {
  if (built) return built;
  const src = readFileSync(SOURCE);
  const hash = createHash("sha1").update(src).digest("hex").slice(0, 12);
  const dir = `${ROOT}bench/.work`;
  const bin = `${dir}/loadgen-${hash}`;
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const cc = process.env.CC ?? "gcc";
    try {
      execFileSync(cc, ["-O2", "-Wall", "-o", bin, SOURCE], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      throw new Error(`cannot compile bench/lib/loadgen.c with ${cc} (apt-get install gcc): ${err.stderr ?? err}`);
    }
  }
  built = bin;
  return bin;
}

/** Same interface as startLoadgen() in processes.mjs. */
export function startNativeLoadgen({ writeSize = DEFAULT_WRITE_SIZE, readMode = "copy" } = {}) {
  const bin = buildNativeLoadgen();
  const dir = mkdtempSync(join(tmpdir(), "wirecable-lg-"));
  const child = spawn("/bin/sh", ["-c", ULIMIT, "sh", bin], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  child.stdin.on("error", () => {});
  const waiting = [];
  let out = "";
  let exited = false;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d) => {
    out += d;
    for (let nl = out.indexOf("\n"); nl >= 0; nl = out.indexOf("\n")) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const w = waiting.shift();
      if (w) w.resolve(line);
    }
  });
  child.on("exit", () => {
    exited = true;
    rmSync(dir, { recursive: true, force: true });
    for (const w of waiting.splice(0)) w.reject(new Error("native load generator exited"));
  });
  const reply = (send) =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error("native load generator exited"));
      waiting.push({ resolve, reject });
      child.stdin.write(send);
    });

  return {
    pid: child.pid,
    /** The process that does the work (sh execs it: the same pid). */
    async connect(config) {
      const lines = [`host ${config.host}`, `port ${config.port}`, `writesize ${config.writeSize ?? writeSize}`];
      lines.push(`readmode ${config.readMode ?? readMode}`);
      lines.push(`mode ${config.mode ?? "traffic"}`);
      if (config.concurrency) lines.push(`concurrency ${config.concurrency}`);
      else if (config.connectConcurrency) lines.push(`concurrency ${config.connectConcurrency}`);
      for (const a of config.localAddresses ?? []) lines.push(`addr ${a}`);
      if (config.localPortStart) lines.push(`portstart ${config.localPortStart}`);
      config.groups.forEach((g, i) => {
        const req = join(dir, `req-${i}`);
        const head = { deflate: !!g.deflate, protocol: g.protocol };
        writeFileSync(req, handshakeRequest(config.host, config.port, g.path ?? "/", head));
        let frame = "-";
        let payloadSize = 0;
        if (g.inflight > 0) {
          const payload = g.payload
            ? Buffer.from(g.payload)
            : Buffer.alloc(g.size ?? 64, g.binary ? 0xab : 0x61 /* "a": valid UTF-8 */);
          payloadSize = payload.length;
          frame = join(dir, `frame-${i}`);
          writeFileSync(frame, maskedFrame(payload, { binary: !!g.binary, compressed: !!g.compressed }));
        } else if (g.size) payloadSize = g.size;
        lines.push(
          `group ${g.name} ${g.count} ${g.inflight ?? 0} ${payloadSize} ${g.latency ? 1 : 0} ${req} ${frame}${g.once ? " once" : ""}`,
        );
        if (g.init) {
          const init = join(dir, `init-${i}`);
          writeFileSync(init, maskedFrame(Buffer.from(g.init)));
          lines.push(`groupinit ${init}`);
        }
      });
      lines.push("go");
      const line = await reply(`${lines.join("\n")}\n`);
      const m = /^READY (\d+) (\d+)/.exec(line);
      if (!m) throw new Error(`native load generator: ${line}`);
      return { open: Number(m[1]), failed: Number(m[2]) };
    },
    async start() {
      await reply("start\n");
    },
    async mark() {
      const line = await reply("mark\n");
      if (!line.startsWith("MARK ")) throw new Error(`native load generator: ${line}`);
      return JSON.parse(line.slice(5));
    },
    stop: () =>
      new Promise((resolve) => {
        if (exited) return resolve();
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.on("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.stdin.end("stop\n");
      }),
  };
}
