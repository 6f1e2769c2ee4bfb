/**
 * Receives the file from examples/large-file/server.ts and checks its SHA-256.
 * Run: npx tsx examples/large-file/client.ts [ws://127.0.0.1:8083] [output-file]
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { connect } from "../../src/node/index.js";

export interface Received {
  bytes: Buffer;
  name: string;
  size: number;
  ok: boolean;
}

export async function receive(url = "ws://127.0.0.1:8083", maxBytes = 1024 * 1024 * 1024): Promise<Received> {
  // maxPayload bounds the reassembled message: set it to the largest file you accept.
  const conn = await connect(url, { maxPayload: maxBytes });
  let bytes: Buffer | undefined;
  let info: { name: string; size: number; sha256: string } | undefined;
  for await (const message of conn) {
    if (typeof message === "string") info = JSON.parse(message);
    else bytes = message;
  }
  if (bytes === undefined || info === undefined) throw new Error("the server closed before sending the file");
  const ok = bytes.length === info.size && createHash("sha256").update(bytes).digest("hex") === info.sha256;
  return { bytes, name: info.name, size: info.size, ok };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await receive(process.argv[2]);
  if (process.argv[3]) await writeFile(process.argv[3], result.bytes);
  console.log(`${result.name}: ${result.size} bytes, checksum ${result.ok ? "OK" : "MISMATCH"}`);
  process.exitCode = result.ok ? 0 : 1;
}
