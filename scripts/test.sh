#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need when it is
# missing (Debian/Ubuntu: chromium, Node's ws, python3-websockets), then
# runs go vet (also for darwin and windows), go test -race on the module,
# then its scale tier, and go vet on bench/ if present.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
{ command -v node >/dev/null 2>&1 && [ -f /usr/share/nodejs/ws/package.json ]; } || missing+=(nodejs node-ws)
/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || missing+=(python3 python3-websockets)
command -v tinyproxy >/dev/null 2>&1 || missing+=(tinyproxy)   # HTTP CONNECT proxy
command -v microsocks >/dev/null 2>&1 || missing+=(microsocks) # SOCKS5 proxy
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get update
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${missing[@]}"
fi

# The peers are installed now: a test that cannot find one must fail, not skip.
export CI=true

go vet ./...
# The library builds, and its tests compile, where there are no event loops.
for goos in darwin windows; do
	GOOS=$goos go vet ./...
done
go test -race -timeout 14m -skip '^TestScale' ./...
# The scale tier: thousands of connections with short intervals (keepalive,
# handshake and idle timeouts, admission, shutdown, idle Dial clients), in
# every dispatcher mode and on both accept paths. About a minute.
go test -race -timeout 5m -run '^TestScale' ./...
if [ -d bench ]; then
	(cd bench && go vet ./...)
fi
