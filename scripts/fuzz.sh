#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other, each for the
# given time (default 5m), at low priority. Not part of CI: the unit tests
# run the seed corpora in testdata/fuzz. A crasher is written to
# testdata/fuzz/<target>/; commit it with the fix.
#   ./scripts/fuzz.sh [duration] [package...]
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-5m}
shift || true
pkgs=("${@:-.}")
for pkg in "${pkgs[@]}"; do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
		echo "== $pkg $target ($time)"
		nice -n 19 go test -run '^$' -fuzz "^$target\$" -fuzztime "$time" "$pkg"
	done
done
