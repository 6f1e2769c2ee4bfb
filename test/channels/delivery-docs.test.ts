// The guarantees README ("Delivery guarantees") and docs/channels.md state are the code's: one
// row per broker a URL can name, the defaults they quote (history limit and ttl, presence ttl +
// heartbeat, coalescing interval, the server's ack window, the client's ack timeout and retry
// interval) are the constants the code uses, and the client's timeout stays below the server's
// window (the condition for an exactly-once effect).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { DEFAULT_ACK_WINDOW } from "../../src/channels/acks.js";
import { brokerKind } from "../../src/channels/brokers/from-url.js";
import { DEFAULT_HISTORY_LIMIT, DEFAULT_HISTORY_TTL } from "../../src/channels/brokers/stream-history.js";
import { resolvePresenceOptions } from "../../src/channels/brokers/stream-presence.js";
import { DEFAULT_PRESENCE_INTERVAL } from "../../src/channels/presence-hub.js";
import { DEFAULT_ACK_RETRY_INTERVAL, DEFAULT_ACK_TIMEOUT } from "../../src/client/channels/delivery.js";

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8").replace(/\s+/g, " ");
const section = (text: string, heading: string) => {
  const start = text.indexOf(heading);
  assert.ok(start >= 0, `missing section ${heading}`);
  const end = text.indexOf(" ## ", start + heading.length);
  return text.slice(start, end < 0 ? undefined : end);
};
const readme = section(read("README.md"), "## Delivery guarantees");
const channels = section(read("docs/channels.md"), "## Delivery guarantees (extensions of the protocol)");
const s = (ms: number) => `${ms / 1000} s`;

describe("delivery guarantees as documented", () => {
  it("the README's table has a row for every broker a URL can name", () => {
    const rows = new Map([
      ["memory", "| memory (default) |"],
      ["redis", "| Redis |"],
      ["redis-cluster", "| Redis Cluster |"],
      ["postgres", "| PostgreSQL |"],
      ["nats", "| NATS |"],
    ]);
    const urls = ["memory", "redis://h", "redis+cluster://h:1", "postgres://h/db", "nats://h"];
    for (const url of urls) {
      const row = rows.get(brokerKind(url));
      assert.ok(row !== undefined, `no README row for ${brokerKind(url)}`);
      assert.ok(readme.includes(row), `README lacks the row ${row}`);
    }
  });

  it("quotes the defaults the code uses", () => {
    const presence = resolvePresenceOptions();
    assert.ok(readme.includes(`last \`limit\` (${DEFAULT_HISTORY_LIMIT}) per stream`));
    assert.ok(readme.includes(`each \`ttl\` (${DEFAULT_HISTORY_TTL / 60_000} min)`));
    const timing = `${presence.ttl / 1000} + ${presence.heartbeat / 1000} s`;
    assert.ok(readme.includes(`(${timing} by default)`), `README: presence ${timing}`);
    const spelled = `${s(presence.ttl)} + ${s(presence.heartbeat)} by default`;
    assert.ok(channels.includes(spelled), `docs/channels.md: presence ${spelled}`);
    assert.ok(readme.includes(`(${(presence.ttl + presence.heartbeat) / 1000} s)`), "README: NATS presence");
    for (const text of [readme, channels]) {
      assert.ok(text.includes(`\`acks.window\` (${s(DEFAULT_ACK_WINDOW)}`));
      assert.ok(text.includes(`\`ackTimeout\` (${s(DEFAULT_ACK_TIMEOUT)})`));
    }
    assert.ok(readme.includes(`at most once per ${DEFAULT_PRESENCE_INTERVAL} ms`));
    assert.ok(channels.includes(`\`presence.interval\` (${DEFAULT_PRESENCE_INTERVAL} ms)`));
    assert.ok(channels.includes(`\`ackRetryInterval\` (${s(DEFAULT_ACK_RETRY_INTERVAL)})`));
  });

  it("the client gives up before the server forgets an id (exactly-once effect)", () => {
    assert.ok(DEFAULT_ACK_TIMEOUT < DEFAULT_ACK_WINDOW);
    assert.ok(DEFAULT_ACK_RETRY_INTERVAL < DEFAULT_ACK_TIMEOUT);
  });
});
