// A Node child with an IPC channel (as cluster-helpers.ts and the attack harness fork them), for
// tied-process.test.ts: says it is up, then idles until it is killed.
process.send("up");
setInterval(() => {}, 60_000);
