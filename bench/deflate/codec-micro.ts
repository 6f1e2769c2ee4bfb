/**
 * Micro-benchmark (not a test): the zlib codec alone vs ws's PerMessageDeflate alone, on the same
 * 1 KiB JSON: sequential compress + decompress pairs, CPU time per pair (process.cpuUsage).
 * Run: node --import tsx bench/deflate/codec-micro.ts [--n 20000]
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import zlib from "node:zlib";
import { createServerDeflate } from "../../src/node/deflate/index.js";

const { values } = parseArgs({ options: { n: { type: "string", default: "20000" } } });
const N = Number(values.n);
const require = createRequire(import.meta.url);
const PerMessageDeflate = require(join(dirname(require.resolve("ws/package.json")), "lib/permessage-deflate.js"));

const json = JSON.stringify({
  channel: "room:lobby",
  items: Array.from({ length: 14 }, (_, i) => ({
    id: i,
    user: `user${i % 5}`,
    kind: "message",
    at: 1_700_000_000 + i,
  })),
});
const data = Buffer.from(json);
const inbound = (() => {
  const c = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return c.subarray(0, c.length - 4);
})();

async function ours(preset: "shared" | "dedicated"): Promise<number> {
  const ext = createServerDeflate({ preset, threshold: 0 });
  const offer = { name: "permessage-deflate", params: {}, rawParams: [] };
  const { session } = ext.negotiate([offer])!;
  const msg = (d: Uint8Array, rsv1: boolean) => ({ opcode: 1 as const, rsv1, rsv2: false, rsv3: false, data: d });
  // With context takeover, one fresh stream per "peer message" would be wrong: feed the same
  // standalone message each time only to a no-context inflater; dedicated re-inflates our own output.
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const out = await session.processOutgoing(msg(data, false));
    if (preset === "shared") await session.processIncoming(msg(inbound, true), 0);
    else void out;
  }
  const cpu = process.cpuUsage(start);
  session.close?.();
  return (cpu.user + cpu.system) / N;
}

async function ws(noContext: boolean): Promise<number> {
  const ext = new PerMessageDeflate({
    threshold: 0,
    serverNoContextTakeover: noContext,
    clientNoContextTakeover: noContext,
    isServer: true,
  });
  ext.accept([noContext ? { server_no_context_takeover: [true], client_no_context_takeover: [true] } : {}]);
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    await new Promise<void>((resolve, reject) =>
      ext.compress(data, true, (e: Error | null) => (e ? reject(e) : resolve())),
    );
    if (noContext) {
      await new Promise<void>((resolve, reject) =>
        ext.decompress(inbound, true, (e: Error | null) => (e ? reject(e) : resolve())),
      );
    }
  }
  const cpu = process.cpuUsage(start);
  ext.cleanup();
  return (cpu.user + cpu.system) / N;
}

console.log(`N=${N}, ${data.length}-byte JSON, CPU µs per operation pair (all threads of the process)`);
console.log(`ours shared (deflate+inflate):  ${(await ours("shared")).toFixed(1)}`);
console.log(`ws no-context (deflate+inflate): ${(await ws(true)).toFixed(1)}`);
console.log(`ours dedicated (deflate only):   ${(await ours("dedicated")).toFixed(1)}`);
console.log(`ws takeover (deflate only):      ${(await ws(false)).toFixed(1)}`);
