#!/usr/bin/env node
// The wirecable CLI. Run `npm run build` first: this loads the compiled dist/cli/index.js.
import { main } from "../dist/cli/index.js";

main().catch((error) => {
  console.error(`wirecable: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
