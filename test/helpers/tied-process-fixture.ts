/**
 * A stand-in for a test file (run by tied-process.test.ts with `node --import tsx`): starts one
 * of each kind of child the test helpers start, prints "ready", and waits to be killed, without
 * ever stopping them (as a test file killed by the runner's timeout leaves them).
 */
import type { Browser } from "playwright-core";
import { launchChromium } from "./chromium.js";
import { startNats } from "./nats.js";
import { startPostgres } from "./postgres.js";
import { startRedis } from "./redis.js";
import { FIXTURES, startPuma } from "./ruby.js";
import { forkTied } from "./tied-process.js";

const browser: Browser = await launchChromium();
const page = await browser.newPage(); // a renderer process too
await page.setContent("<p>tied</p>");
await Promise.all([startRedis(), startNats(), startPostgres(), startPuma(`${FIXTURES}faye-server.ru`)]);
const child = forkTied(new URL("./tied-process-fixture-child.mjs", import.meta.url).pathname, [], {
  execArgv: [],
  stdio: ["ignore", "ignore", "ignore", "ipc"],
});
await new Promise((resolve) => child.once("message", resolve));
process.stdout.write("ready\n");
setInterval(() => {}, 60_000);
