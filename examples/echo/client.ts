/**
 * Echo client: sends a text and a binary message, prints the replies, closes.
 * Run: npx tsx examples/echo/client.ts [ws://127.0.0.1:8080]
 */
import { pathToFileURL } from "node:url";
import { connect } from "../../src/node/index.js";

export async function run(url = "ws://127.0.0.1:8080"): Promise<Array<string | Buffer>> {
  const conn = await connect(url);
  const replies: Array<string | Buffer> = [];
  const done = new Promise<void>((resolve) => {
    conn.on("message", (data: string | Buffer) => {
      replies.push(data);
      if (replies.length === 2) resolve();
    });
  });
  conn.send("hello, echo");
  conn.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  await done;
  conn.close(1000, "done");
  await conn.closed;
  return replies;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const reply of await run(process.argv[2])) {
    console.log(typeof reply === "string" ? `text: ${reply}` : `binary: ${reply.toString("hex")}`);
  }
}
