/**
 * Debian's Chromium (/usr/bin/chromium, installed by scripts/setup-test-env.sh; started through
 * tied-chromium.sh) through playwright-core, with the flags this machine needs: no sandbox as
 * root, and no background
 * networking (the machine has no network beyond loopback; Chromium's own connections would be
 * refused many at a time and slow every start).
 */
import { type Browser, chromium } from "playwright-core";
import { TIED_CHROMIUM } from "./tied-process.js";

export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches headless Chromium (tied to this process: tied-process.ts); the caller closes it in
 * `after`. `extraArgs` adds flags (e.g. `--ignore-certificate-errors` for a test certificate).
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: TIED_CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
