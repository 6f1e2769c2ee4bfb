#!/bin/sh
# Debian's Chromium, tied to the test process that launches it (see tied-process.ts): playwright
# starts this as the browser executable, and setpriv execs Chromium in place with a parent-death
# signal, so the browser is SIGKILLed when the test process dies without closing it.
if [ -x /usr/bin/setpriv ]; then exec /usr/bin/setpriv --pdeathsig KILL -- /usr/bin/chromium "$@"; fi
exec /usr/bin/chromium "$@"
