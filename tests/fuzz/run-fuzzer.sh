#!/usr/bin/env bash
# Runs the frame-parser fuzzer for SECONDS (default 600) from a fresh seed corpus and
# prints libFuzzer's final statistics. Usage: tests/fuzz/run-fuzzer.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:?usage: run-fuzzer.sh BUILD_DIR [SECONDS]}
seconds=${2:-600}
corpus=$(mktemp -d)
"$build/tests/fuzz/make-seed-corpus" "$corpus"
"$build/tests/fuzz/frame-parser-fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
  -max_len=65536 -rss_limit_mb=2048 "$corpus" 2>&1 | tail -n 40
# Coverage of the final corpus (edges and features in the instrumented codec).
"$build/tests/fuzz/frame-parser-fuzzer" -runs=0 "$corpus" 2>&1 | grep -E '^#[0-9]+ +DONE'
echo "corpus: $(ls "$corpus" | wc -l) inputs in $corpus"
