#!/bin/sh
# Fuzzes the profile parser and compiler for a bounded time on stable Rust.
#
#   policy/fuzz.sh [SECONDS]     (default 60)
#
# Exits 0 only if no input crashed (panic, timeout, out of memory); a crashing
# input is saved under policy/fuzz/artifacts/parse_compile/ and libFuzzer
# prints how to reproduce it. cargo-fuzz needs nightly features: on stable,
# RUSTC_BOOTSTRAP=1 unlocks them. The safe-Rust code gains nothing from
# AddressSanitizer, so it runs without (debug assertions are on).
set -eu

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/fuzz"
if ! cargo fuzz --version >/dev/null 2>&1; then
	cargo install cargo-fuzz --locked
fi

corpus=corpus/parse_compile
mkdir -p "$corpus"
cp seeds/* "$corpus"/

export RUSTC_BOOTSTRAP=1
exec cargo fuzz run --sanitizer none --debug-assertions parse_compile "$corpus" -- \
	-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	-dict=toml.dict -print_final_stats=1
