// The user-facing docs of the demo, CLI and examples: README's first code block is exactly the
// two commands, and every relative link in README.md, docs/demo.md, docs/migrating-from-ws.md,
// docs/api/README.md and examples/README.md points at a file that exists.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { it } from "node:test";
import { root } from "./helpers.js";

const FILES = [
  "README.md",
  "docs/demo.md",
  "docs/http2.md",
  "docs/fallback.md",
  "docs/client.md",
  "docs/migrating-from-ws.md",
  "docs/api/README.md",
  "examples/README.md",
];

it("README starts with the two commands", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const first = readme.match(/```[a-z]*\n([\s\S]*?)```/)?.[1];
  assert.equal(first, "npm install && npm start\nnpm install && npm run test:ci\n");
});

it("relative links resolve", () => {
  const broken: string[] = [];
  for (const file of FILES) {
    const text = readFileSync(join(root, file), "utf8").replace(/```[\s\S]*?```/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:|#)/.test(target!)) continue;
      const path = join(dirname(join(root, file)), target!.split("#")[0]!);
      if (!existsSync(path)) broken.push(`${file}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});
