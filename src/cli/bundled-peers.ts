/**
 * The broker clients the CLI carries in its bundle (scripts/build-cli.mjs): `npx wirecable serve
 * --broker ...` (Redis, Redis Cluster, PostgreSQL, NATS) works from the registry tarball alone,
 * while library users install these optional peers themselves. Each loader is a literal
 * `import()`, which esbuild resolves at build time; the module is evaluated only when a broker is
 * constructed. Importing this file registers them.
 */
import { providePeer } from "../channels/index.js";

providePeer("ioredis", () => import("ioredis"));
providePeer("pg", () => import("pg"));
providePeer("@nats-io/transport-node", () => import("@nats-io/transport-node"));
providePeer("@nats-io/jetstream", () => import("@nats-io/jetstream"));
