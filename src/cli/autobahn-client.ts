/**
 * `wirecable autobahn-client --url ws://HOST:PORT [--agent NAME] [--deflate]`: the Autobahn
 * TestSuite client-testee flow: GET /getCaseCount, then /runCase?case=N&agent=NAME for each
 * case (echoing every message as received until the server closes), then
 * /updateReports?agent=NAME.
 * Limits default to accept everything the suite sends: `--max-payload` 16 MiB (9.1.6) and
 * `--max-fragments` 65537 (9.3.1/9.4.1 send 65,537 frames); the library's defaults are 64 MiB
 * and 4,096 frames.
 */
import type { Command } from "commander";
import { type Connection, connect } from "../node/index.js";
import { AUTOBAHN_MAX_FRAGMENTS, AUTOBAHN_MAX_PAYLOAD, addLimitOptions, parseName, parseWsUrl } from "./options.js";

export interface AutobahnLimits {
  maxPayload: number;
  maxFragments: number;
}

async function echoUntilClosed(conn: Connection): Promise<void> {
  conn.on("message", (data: string | Buffer, isBinary: boolean) => {
    conn.send(data, { binary: isBinary });
  });
  await conn.closed;
}

export async function runAutobahnClient(
  url: string,
  agent: string,
  deflate: boolean,
  log = console.log,
  limits: AutobahnLimits = { maxPayload: AUTOBAHN_MAX_PAYLOAD, maxFragments: AUTOBAHN_MAX_FRAGMENTS },
): Promise<number> {
  const options = {
    perMessageDeflate: deflate,
    maxPayload: limits.maxPayload,
    maxFragments: limits.maxFragments,
    pingInterval: 0,
    maxBufferedAmount: 0,
  };
  const counter = await connect(`${url}/getCaseCount`, options);
  const count = await new Promise<number>((resolve, reject) => {
    counter.once("message", (data: string | Buffer) => resolve(Number(String(data))));
    counter.once("close", () => reject(new Error("getCaseCount: closed without an answer")));
  });
  await counter.closed;
  if (!Number.isInteger(count) || count < 0) throw new Error(`getCaseCount: bad answer ${count}`);
  log(`${count} cases`);
  for (let i = 1; i <= count; i++) {
    const agentQuery = encodeURIComponent(agent);
    try {
      await echoUntilClosed(await connect(`${url}/runCase?case=${i}&agent=${agentQuery}`, options));
    } catch (error) {
      log(`case ${i}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (i % 50 === 0 || i === count) log(`ran ${i}/${count}`);
  }
  const reports = await connect(`${url}/updateReports?agent=${encodeURIComponent(agent)}`, options);
  await reports.closed;
  return count;
}

export function register(program: Command): void {
  const command = program
    .command("autobahn-client")
    .description("run the Autobahn TestSuite client cases against a fuzzingserver")
    .requiredOption("-u, --url <url>", "fuzzingserver URL, e.g. ws://127.0.0.1:9001", parseWsUrl)
    .option("-a, --agent <name>", "agent name in the reports", parseName, "wirecable")
    .option("--deflate", "offer permessage-deflate", false);
  addLimitOptions(command).action(
    async (opts: { url: string; agent: string; deflate: boolean; maxPayload: number; maxFragments: number }) => {
      await runAutobahnClient(opts.url, opts.agent, opts.deflate, console.log, opts);
    },
  );
}
