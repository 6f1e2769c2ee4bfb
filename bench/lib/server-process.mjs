// Helpers of the A/B scripts that start one bench server process each (handshake-ab.mjs,
// handshake-gc.mjs, channels/churn-gc.mjs): a server spec's environment, the server started with
// the hard open-file limit, and V8's `--trace-gc-nvp` lines read back as records.
import { spawn } from "node:child_process";

const ROOT = new URL("../../", import.meta.url).pathname;

/** `process.env` plus the spec's `NAME:VALUE` pairs (e.g. `WIRECABLE_DIST:/tmp/b/dist`). */
export function envWith(vars) {
  const env = { ...process.env };
  for (const v of vars) {
    const colon = v.indexOf(":");
    env[v.slice(0, colon)] = v.slice(colon + 1);
  }
  return env;
}

/** `node [nodeArgs] bench/servers/<file>.mjs` from the repository root, at the hard open-file limit. */
export function spawnServer(file, vars, nodeArgs = []) {
  return spawn(
    "/bin/sh",
    [
      "-c",
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"',
      "sh",
      process.execPath,
      ...nodeArgs,
      `bench/servers/${file}.mjs`,
    ],
    { cwd: ROOT, env: envWith(vars), stdio: ["pipe", "pipe", "inherit"] },
  );
}

/** The `--trace-gc-nvp` lines of `text` as records (`{ gc: "s", pause: "0.5", promoted: "123", ... }`). */
export function gcRecords(text) {
  const records = [];
  for (const line of text.split("\n")) {
    if (!line.includes("gc=")) continue;
    records.push(
      Object.fromEntries(
        line
          .trim()
          .split(/\s+/)
          .map((kv) => kv.split("=")),
      ),
    );
  }
  return records;
}
