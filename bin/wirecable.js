#!/usr/bin/env node
// The wirecable CLI: dist/cli/index.js is the bundle `npm run build` makes (scripts/build-cli.mjs).
import { main } from "../dist/cli/index.js";

main().catch((error) => {
  console.error(`wirecable: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
