/**
 * The `wirecable` command line: a commander program; each command lives in its own file and
 * exports `register(program)`. Add a command by adding a file and one line below.
 *
 * Conventions: `-V, --version`; a bad option or argument prints one line (what is wrong, with
 * the value) and a hint naming the command's --help, then exits 1, instead of the whole help.
 * In the published package this file is bundled (scripts/build-cli.mjs) with its dependencies.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import "./bundled-peers.js";
import { register as registerAutobahnClient } from "./autobahn-client.js";
import { register as registerBench } from "./bench.js";
import { register as registerBroadcast } from "./broadcast.js";
import { register as registerConnect } from "./connect.js";
import { register as registerEcho } from "./echo.js";
import { register as registerServe } from "./serve.js";

/** package.json is two levels up from both src/cli/ and dist/cli/. */
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export const program = new Command();
program
  .name("wirecable")
  .description("WebSockets for TypeScript: servers, clients and tools")
  .version(version, "-V, --version", "print the version")
  .showHelpAfterError("(wirecable --help lists the commands)");

registerServe(program);
registerConnect(program);
registerEcho(program);
registerBroadcast(program);
registerAutobahnClient(program);
registerBench(program);

for (const command of program.commands) {
  command.showHelpAfterError(`(wirecable ${command.name()} --help lists its options)`);
}

/** Run the CLI (bin/wirecable.js calls this). */
export async function main(argv: string[] = process.argv): Promise<void> {
  await program.parseAsync(argv);
}
