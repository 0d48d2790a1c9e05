#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need when it is
# missing (Debian/Ubuntu: chromium, Node's ws, python3-websockets), waiting
# for the package manager's lock when another install holds it. Then, for
# every module of go.work: go vet (also for darwin and windows, bench/
# excepted: it measures Linux) and a check that the module builds alone
# (GOWORK=off). Then go test -race on all modules less the scale tier, the
# scale tier, and last a check that a module requiring the library gets no
# other module than golang.org/x/sys and klauspost/compress.
set -euo pipefail
cd "$(dirname "$0")/.."

# aptLockWait bounds how long to wait for another apt/dpkg run to finish.
aptLockWait=${APT_LOCK_WAIT:-600}

# waitAptLock returns once no process holds the package manager's locks,
# or fails after aptLockWait seconds saying who holds them.
waitAptLock() {
	local locks=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock)
	local waited=0 holder
	while holder=$(aptLockHolder "${locks[@]}"); [ -n "$holder" ]; do
		if [ "$waited" -ge "$aptLockWait" ]; then
			echo "test.sh: the package manager is still locked after ${aptLockWait}s by: $holder" >&2
			echo "test.sh: let that install finish (or set APT_LOCK_WAIT=seconds) and run again" >&2
			return 1
		fi
		[ "$waited" -eq 0 ] && echo "test.sh: waiting up to ${aptLockWait}s for the package manager's lock, held by: $holder"
		sleep 5
		waited=$((waited + 5))
	done
}

# aptLockHolder prints the processes that hold any of the given lock files
# (nothing when they are free): with fuser when there is one, else the
# package tools running by name.
aptLockHolder() {
	local f pids=""
	if command -v fuser >/dev/null 2>&1; then
		for f in "$@"; do
			[ -e "$f" ] || continue
			pids+=" $("${sudo[@]}" fuser "$f" 2>/dev/null || true)"
		done
	else
		pids=$(pgrep -x 'apt|apt-get|aptitude|dpkg|unattended-upgr' || true)
	fi
	local pid out=""
	for pid in $pids; do
		out+="$pid($(ps -o comm= -p "$pid" 2>/dev/null || echo '?')) "
	done
	printf '%s' "${out% }"
}

# aptGet runs apt-get after waiting for the lock; apt-get's own lock
# timeout covers a run that starts between the check and apt-get.
aptGet() {
	waitAptLock
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout="$aptLockWait" "$@"
}

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
	aptGet update
	aptGet install -y "${missing[@]}"
fi

# The peers are installed now: a test that cannot find one must fail, not skip.
export CI=true

# The modules of go.work, the library's own first.
mapfile -t modules < <(go list -m -f '{{.Dir}}')
for m in "${modules[@]}"; do
	rel=.${m#"$PWD"}
	echo "== vet $rel"
	(
		cd "$m"
		go vet ./...
		# Its go.mod and go.sum are complete without the workspace.
		GOWORK=off go vet ./...
		# The library builds, and its tests compile, where there are no
		# event loops; bench/ measures Linux only.
		if [ "$rel" != ./bench ]; then
			for goos in darwin windows; do
				GOOS=$goos go vet ./...
			done
		fi
	)
done
# Every module's tests at once: in the workspace the pattern spans them all.
echo "== test"
go test -race -timeout 14m -skip '^TestScale' github.com/wssgo/wss/...
# The scale tier: thousands of connections with short intervals (keepalive,
# handshake and idle timeouts, admission, shutdown, idle Dial clients), in
# every dispatcher mode and on both accept paths. About a minute.
echo "== scale tier"
go test -race -timeout 5m -run '^TestScale' github.com/wssgo/wss/...

# What a user's module gets from requiring the library: wss, x/sys and
# klauspost/compress, nothing else.
echo "== go mod graph of a module requiring github.com/wssgo/wss"
user=$(mktemp -d)
trap 'rm -rf "$user"' EXIT
cat >"$user/go.mod" <<EOF
module example.com/user

go 1.26.0

require github.com/wssgo/wss v0.0.0-00010101000000-000000000000

replace github.com/wssgo/wss => $PWD
EOF
printf 'package user\n\nimport _ "github.com/wssgo/wss"\n' >"$user/user.go"
graph=$(cd "$user" && GOWORK=off GOFLAGS=-mod=mod go mod graph)
echo "$graph"
# Each line is "module requirement"; go@ and toolchain@ are not modules.
extra=$(echo "$graph" | tr ' ' '\n' | sed 's/@.*//' | sort -u |
	grep -vxE 'example\.com/user|github\.com/wssgo/wss|golang\.org/x/sys|github\.com/klauspost/compress|go|toolchain' || true)
if [ -n "$extra" ]; then
	echo "test.sh: a module requiring github.com/wssgo/wss also gets:" $extra >&2
	exit 1
fi
