// src/client must bundle for browsers: esbuild's browser build of index.ts succeeds (a node:*
// import anywhere in it would fail the build) and takes nothing outside src/client, the
// shared wire module src/cable and the sans-I/O pieces of src/protocol that the HTTP fallback
// speaks (its wire and SSE parser, the frame encoder and mask for its upstream frames). What each file may import is the layer test's
// (test/architecture.test.ts).
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..", "..");
const clientDir = join(root, "src", "client");

describe("src/client is isomorphic", () => {
  it("bundles for the browser platform from index.ts", async () => {
    const result = await build({
      entryPoints: [join(clientDir, "index.ts")],
      bundle: true,
      write: false,
      platform: "browser",
      format: "esm",
      target: ["es2022"],
      logLevel: "silent",
      metafile: true,
      absWorkingDir: root,
    });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(
      inputs.every(
        (i) =>
          i.startsWith("src/client/") ||
          i.startsWith("src/cable/") ||
          i.startsWith("src/protocol/fallback/") ||
          i === "src/protocol/frames/frame-encoder.ts" ||
          i === "src/protocol/frames/mask.ts",
      ),
      inputs.join(", "),
    );
    assert.ok(result.outputFiles[0]!.text.includes("actioncable-v1-json"));
  });
});
