/**
 * The error tables (src/protocol/errors.ts): each code maps to its close code / HTTP status, is
 * raised somewhere in the sources (no dead codes), and appears in docs/errors.md with the same
 * number (one table, shown once in the docs).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import {
  HANDSHAKE_ERRORS,
  HandshakeError,
  type HandshakeErrorCode,
  PROTOCOL_ERRORS,
  ProtocolError,
  type ProtocolErrorCode,
} from "../../src/protocol/errors.js";

const root = resolve(import.meta.dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}
const code = sources(join(root, "src"))
  .filter((f) => !f.endsWith("protocol/errors.ts"))
  .map((f) => readFileSync(f, "utf8"))
  .join("\n");
const docs = readFileSync(join(root, "docs/errors.md"), "utf8");

/** The number in the docs table row of `name` (second column), or undefined. */
function documented(name: string): string | undefined {
  return new RegExp(`^\\| \`${name}\` \\| ([^|]+) \\|`, "m").exec(docs)?.[1]?.trim();
}

describe("error tables", () => {
  it("a ProtocolError takes its close code from PROTOCOL_ERRORS", () => {
    for (const name of Object.keys(PROTOCOL_ERRORS) as ProtocolErrorCode[]) {
      assert.equal(new ProtocolError(name, "x").closeCode, PROTOCOL_ERRORS[name]);
    }
  });

  it("a HandshakeError takes its status from HANDSHAKE_ERRORS, or the peer's where the table has none", () => {
    for (const name of Object.keys(HANDSHAKE_ERRORS) as HandshakeErrorCode[]) {
      const fixed = HANDSHAKE_ERRORS[name];
      if (fixed === null) {
        assert.throws(() => new HandshakeError(name, "x"), RangeError, name);
        assert.equal(new HandshakeError(name, "x", { status: 401 }).status, 401);
      } else assert.equal(new HandshakeError(name, "x").status, fixed);
    }
  });

  it("every code is raised somewhere in the sources", () => {
    const dead = [...Object.keys(PROTOCOL_ERRORS), ...Object.keys(HANDSHAKE_ERRORS)].filter(
      (name) => !code.includes(`"${name}"`),
    );
    assert.deepEqual(dead, []);
  });

  it("docs/errors.md lists every code with the same number", () => {
    for (const [name, value] of [...Object.entries(PROTOCOL_ERRORS), ...Object.entries(HANDSHAKE_ERRORS)]) {
      assert.equal(documented(name), value === null ? "peer's" : String(value), name);
    }
  });
});
