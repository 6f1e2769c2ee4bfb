#!/usr/bin/env bash
# Installs what the tests need beyond npm packages, from Debian's packages (idempotent):
# redis-server (channels over Redis and Redis Cluster; redis-cli makes the cluster), nats-server
# (the NATS broker, with JetStream), postgresql (the PostgreSQL broker), chromium (browser
# interop through playwright-core), python3-websockets (an independent interop peer), and the
# Ruby reference implementations: ruby-faye-websocket and ruby-websocket-driver (interop both
# ways), ruby-actioncable on puma (the cable transcripts are diffed against Rails); util-linux's
# setpriv ties every child a test starts to the test process (test/helpers/tied-process.ts).
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || need+=(python3-websockets)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/puma ] || need+=(puma)
[ -x /usr/bin/setpriv ] || need+=(util-linux)
# openssl judges the certificate `--http2` makes (test/cli/self-signed.test.ts)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# gcc builds the benchmark suite's native load generator (bench/lib/loadgen.c)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
ruby_has() { [ -x /usr/bin/ruby ] && /usr/bin/ruby -e "require '$1'" >/dev/null 2>&1; }
ruby_has faye/websocket || need+=(ruby-faye-websocket)
ruby_has websocket/driver || need+=(ruby-websocket-driver)
ruby_has action_cable || need+=(ruby-actioncable)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-test-env: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
ruby_gem() { /usr/bin/ruby -e "require '$1'; print $2"; }
deb() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
echo "setup-test-env: redis $(redis-server --version | awk '{print $3}'), nats-server $(PATH="$PATH:/usr/sbin" nats-server --version | awk '{print $2}'), chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), python websockets $(/usr/bin/python3 -c 'import websockets; print(websockets.__version__)')"
echo "setup-test-env: ruby $(/usr/bin/ruby -e 'print RUBY_VERSION'), puma $(ruby_gem puma/const Puma::Const::PUMA_VERSION), actioncable $(ruby_gem action_cable ActionCable.version), websocket-driver $(deb ruby-websocket-driver), faye-websocket $(deb ruby-faye-websocket)"
