/**
 * The `wirecable` command line: a commander program; each command lives in its own file and
 * exports `register(program)`. Add a command by adding a file and one line below.
 */
import { Command } from "commander";
import { register as registerAutobahnClient } from "./autobahn-client.js";
import { register as registerBench } from "./bench.js";
import { register as registerBroadcast } from "./broadcast.js";
import { register as registerConnect } from "./connect.js";
import { register as registerEcho } from "./echo.js";
import { register as registerServe } from "./serve.js";

export const program = new Command();
program.name("wirecable").description("WebSockets for TypeScript: servers, clients and tools").showHelpAfterError();

registerServe(program);
registerConnect(program);
registerEcho(program);
registerBroadcast(program);
registerAutobahnClient(program);
registerBench(program);

/** Run the CLI (bin/wirecable.js calls this). */
export async function main(argv: string[] = process.argv): Promise<void> {
  await program.parseAsync(argv);
}
