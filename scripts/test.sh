#!/usr/bin/env bash
# The README's test command: on a fresh Debian 12 machine (as root) it installs the
# packages, checks the formatting, builds with LibTorch (required: the run fails if it is
# missing), runs the whole suite, then builds again with AddressSanitizer +
# UndefinedBehaviorSanitizer (our code instrumented, linked against Debian's LibTorch)
# and runs every element's GstHarness tests and the codec, control, bundle and service
# tests under it. Nothing is skipped: a test whose tool is missing fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
scripts/build.sh
meson test -C build --print-errorlogs

# Sanitizer build. LibTorch is not instrumented: container-overflow annotations differ
# between instrumented and uninstrumented std::vector code, so that one check is off.
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dtorch=enabled \
    -Dbenchmarks=false -Dtests=enabled
fi
# Only what the sanitizer suites run: the plugins and the test programs of those suites.
ninja -C build-asan plugins/libgstrtcoinfer.so plugins/libgstrtcoinferbaselines.so plugins/libgstrtcoinfertest.so \
  tests/unit/test-{codec,image-frame,control,policy,slices,results-service,bottleneck,mpcrate,compress,head-tail,baselines,bins} \
  tests/trainer/test-bundle tests/unit/test-exit
# (the integration tests run python and gst-launch processes, which are not instrumented)
asan_suites=(--suite codec --suite control --suite elements --suite service --suite bundle --no-suite integration)
# The list must name the element tests: a sanitizer run that lost them would pass quietly.
listed=$(meson test -C build-asan --list "${asan_suites[@]}" 2>/dev/null)
for t in head-tail baselines bins mpcrate compress bottleneck codec policy results-service; do
  grep -q " / $t\$" <<<"$listed" || { echo "test.sh: sanitizer build lacks test '$t'" >&2; exit 1; }
done
meson test -C build-asan --no-rebuild --print-errorlogs "${asan_suites[@]}"
echo "test.sh: all suites passed"
