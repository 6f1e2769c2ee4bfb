/**
 * Our clients under attack, each in a process of its own so that the test reads its memory and
 * descriptors from /proc: forked by clients.test.ts with `[json]`, json = { dist, url, mode,
 * options }, built by `npm run build` (dist/):
 * - mode "connect": the Node client, `connect(url, options)` (wirecable), counting what arrives;
 * - mode "reconnecting": the reconnecting client of wirecable/client (Node entry: wirecable's
 *   WHATWG WebSocket), with `options` as its ClientOptions and `socketOptions` given to each
 *   WebSocket it makes.
 * IPC: sends `{ ready: true }` once started; answers `"report"` with `{ report }` (counts, the
 * close codes seen, the attempts' times, the backoff delays chosen, and the timers and sockets the process still holds:
 * process.getActiveResourcesInfo()); `"close"` closes the client and answers `{ closed }` with
 * the same figures once it is done; `"exit"` exits.
 */
const config = JSON.parse(process.argv[2] ?? "{}");
const counts = { messages: 0, bytes: 0, pings: 0, opens: 0, attempts: 0, errors: 0 };
const closes = [];
const attemptTimes = [];
/** [attempt, delay] of each `reconnecting` event. */
const delays = [];
/** ms from each connection's error to its close (the `reconnecting` event). */
const closeTimes = [];
let client = null;

function resources() {
  const out = {};
  for (const name of process.getActiveResourcesInfo()) out[name] = (out[name] ?? 0) + 1;
  return out;
}

function report() {
  globalThis.gc?.(); // started with --expose-gc: what is reported is what is kept
  return {
    ...counts,
    closes: closes.slice(-50),
    attemptTimes: attemptTimes.slice(-200),
    delays: delays.slice(-200),
    closeTimes: closeTimes.slice(-200),
    resources: resources(),
  };
}

if (config.mode === "connect") {
  const { connect } = await import(`${config.dist}/node/index.js`);
  connect(config.url, config.options ?? {}).then(
    (conn) => {
      client = conn;
      counts.opens++;
      conn.on("message", (data) => {
        counts.messages++;
        counts.bytes += data.length;
      });
      conn.on("ping", () => counts.pings++);
      conn.on("error", () => counts.errors++);
      conn.on("close", (code) => closes.push(code));
    },
    (error) => {
      counts.errors++;
      closes.push(`connect failed: ${error.message}`);
    },
  );
} else {
  const { ReconnectingWebSocket } = await import(`${config.dist}/entries/client-node.js`);
  const options = { ...config.options };
  if (config.socketOptions !== undefined) {
    // Options for each of wirecable's WebSockets (closeTimeout...): a constructor that passes them.
    const { WebSocket } = await import(`${config.dist}/node/index.js`);
    options.WebSocket = class extends WebSocket {
      constructor(url, protocols) {
        super(url, protocols, config.socketOptions);
      }
    };
  }
  client = new ReconnectingWebSocket(config.url, options);
  client.on("connecting", () => {
    counts.attempts++;
    attemptTimes.push(Math.round(performance.now()));
  });
  client.on("open", () => counts.opens++);
  client.on("message", () => counts.messages++);
  let failedAt = -1;
  client.on("error", () => {
    counts.errors++;
    failedAt = performance.now();
  });
  client.on("reconnecting", (event) => {
    closes.push(event.close.code);
    delays.push([event.attempt, event.delay]);
    // How long the failed connection took to close, from its error to the reconnection.
    if (failedAt !== -1) closeTimes.push(Math.round(performance.now() - failedAt));
    failedAt = -1;
  });
}

process.on("message", (message) => {
  if (message === "report") process.send?.({ report: report() });
  else if (message === "close") {
    if (config.mode === "connect") client?.terminate();
    else client?.close();
    // Let the sockets' close callbacks and the timers' cancellations run first (and report from
    // an immediate, where this timer is no longer active).
    setTimeout(() => setImmediate(() => process.send?.({ closed: report() })), 200);
  } else if (message === "exit") process.exit(0);
});
process.on("disconnect", () => process.exit(0));
process.send?.({ ready: true });
