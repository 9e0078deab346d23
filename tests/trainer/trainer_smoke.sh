#!/bin/bash
# Trainer smoke test: init -> cluster -> swcnn -> export -> eval on a 2 000-image
# Fashion-MNIST subset for one epoch, then checks that
#   - the training loss falls in init and in swcnn,
#   - clustering finds 3 non-empty clusters and stores them where swcnn reads them,
#   - eval prints one line per setup for all 50 setups,
#   - the exported bundle loads through InferenceModel and matches what eval printed.
# usage: trainer_smoke.sh RTCOINFER_TRAIN CHECK_BUNDLE_MATCHES_EVAL CONFIG
set -euo pipefail
train=$1
check=$2
config=$3
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
common=(-c "$config" -r "$run" --train-limit 2000 --test-limit 500 --epochs 1 --seed 1 --threads 1)

fail() { echo "FAIL: $*" >&2; exit 1; }
loss_falls() {  # $1: stage output
  local first last
  read -r first last < <(sed -n 's/^stage=[a-z]* loss_first=\([0-9.]*\) loss_last=\([0-9.]*\).*/\1 \2/p' "$1")
  [ -n "$first" ] || fail "no loss line in $1"
  awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < f) }' || fail "loss did not fall in $1 ($first -> $last)"
  echo "loss $first -> $last"
}

SECONDS=0
"$train" init "${common[@]}" > "$run/init.out"
loss_falls "$run/init.out"
[ -f "$run/init.pt" ] || fail "init.pt missing"

"$train" cluster "${common[@]}" --clusters 3 --batches 2 > "$run/cluster.out"
grep -q '^clusters=3 ' "$run/cluster.out" || fail "cluster did not find 3 clusters: $(cat "$run/cluster.out")"
[ "$(grep -c '^cluster=[0-9]* size=[1-9]' "$run/cluster.out")" -eq 3 ] || fail "empty cluster"
[ -f "$run/clusters.yml" ] || fail "clusters.yml missing"

"$train" swcnn "${common[@]}" > "$run/swcnn.out"
loss_falls "$run/swcnn.out"

"$train" export "${common[@]}" -o "$run/model.rcib" > "$run/export.out"
grep -q '^exported=' "$run/export.out" || fail "export printed no summary"

"$train" eval --model "$run/model.rcib" --setups all --test-limit 500 --threads 1 > "$run/eval.out"
[ "$(grep -c '^setup=[0-9]*x[0-9]* top1=[0-9.]* bytes=[0-9.]*$' "$run/eval.out")" -eq 50 ] ||
  fail "eval did not print 50 setup lines"
[ -s "$run/model.rcib.png" ] || fail "no plot"

"$check" "$run/model.rcib" "$run/eval.out" 500
echo "smoke test passed in ${SECONDS}s"
