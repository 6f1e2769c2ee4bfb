/**
 * ShapedEmitter under `node:domain` loaded BEFORE it (an APM agent or `--require` does that):
 * emitters made inside a domain are bound to it, as EventEmitters are.
 */
import "node:domain";
import assert from "node:assert/strict";
import domain from "node:domain";
import { it } from "node:test";
import { ShapedEmitter } from "../../src/node/shaped-emitter.js";

it("an emitter made inside a domain is bound to it, when node:domain was loaded first", () => {
  const d = domain.create();
  const emitter = d.run(() => new ShapedEmitter()) as unknown as { domain?: unknown };
  assert.equal(emitter.domain, d);
});
