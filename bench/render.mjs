#!/usr/bin/env node
// Re-render results.md and chart.svg from a results.json (after changing the report code, or to
// render someone else's run). Usage: node bench/render.mjs [DIR]   (default bench/results)
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { renderMarkdown, renderSvg } from "./lib/report.mjs";

const dir = resolve(process.argv[2] ?? new URL("results", import.meta.url).pathname);
const run = JSON.parse(readFileSync(resolve(dir, "results.json"), "utf8"));
writeFileSync(resolve(dir, "results.md"), renderMarkdown(run));
writeFileSync(resolve(dir, "chart.svg"), renderSvg(run));
console.error(`rendered ${dir}/results.md and chart.svg`);
