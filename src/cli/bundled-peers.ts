/**
 * The broker clients the CLI carries in its bundle (scripts/build-cli.mjs): `npx wirecable serve
 * --broker ...` (Redis, Redis Cluster, PostgreSQL, NATS) works from the registry tarball alone,
 * while library users install these optional peers themselves. Each loader is a literal
 * `import()`, which esbuild resolves at build time; the module is evaluated only when a broker is
 * constructed. Importing this file registers them.
 *
 * The bundle is split (each peer is a chunk loaded on first use), and a chunk made of a CommonJS
 * package exports only `default` (its module.exports): `named` gives the loader's result the
 * shape Node's own import() of that package has, its exports by name beside `default`, which
 * is what the brokers read (`mod.Client`, `mod.Redis`...).
 */
import { providePeer } from "../channels/index.js";

function named(mod: { default?: unknown }): unknown {
  const exports = mod.default;
  if (exports === null || (typeof exports !== "object" && typeof exports !== "function")) return mod;
  const namespace: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(exports)) namespace[key] = (exports as Record<string, unknown>)[key];
  return { ...namespace, ...mod };
}

providePeer("ioredis", () => import("ioredis").then(named));
providePeer("pg", () => import("pg").then(named));
providePeer("@nats-io/transport-node", () => import("@nats-io/transport-node").then(named));
providePeer("@nats-io/jetstream", () => import("@nats-io/jetstream").then(named));
