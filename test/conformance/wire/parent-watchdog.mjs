// Preloaded (--import) into the echo server children the wire conformance tests start: the
// child exits when its parent (the test process) is gone, even if the parent was SIGKILLed
// (e.g. by the runner's per-file timeout) before it could stop the child.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();
