// The demo page's XSS promise, checked statically as a regression guard (the Chromium test
// checks it in a browser): no HTML sinks in the page's code or its bundle, no inline script or
// event-handler attributes in index.html (the CSP forbids them anyway).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, it } from "node:test";
import { ensureBuilt, root } from "./helpers.js";

const SINKS = /\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval)\b|new Function\(/;

before(() => ensureBuilt());

it("the page's source and bundle use no HTML sinks", () => {
  const source = readFileSync(join(root, "src", "cli", "demo", "web", "app.ts"), "utf8");
  const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ""); // comments may name them
  assert.doesNotMatch(code, SINKS);
  assert.match(code, /textContent/);
  const bundle = readFileSync(join(root, "dist", "cli", "demo", "public", "app.js"), "utf8");
  assert.doesNotMatch(bundle, SINKS);
});

it("index.html has no inline script or handlers", () => {
  const html = readFileSync(join(root, "src", "cli", "demo", "web", "index.html"), "utf8");
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i);
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i);
  assert.match(html, /<script src="\/app\.js" defer><\/script>/);
});
