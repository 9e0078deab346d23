#!/usr/bin/env bash
# The README's test command: on a fresh Debian 12 machine (as root) it installs the
# packages, builds, and runs the whole suite twice: the normal build, then the codec
# and element tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
# Suite `open` holds acceptance checks of unfinished work that do not pass reliably yet
# (see tests/integration/meson.build); everything else must pass.
meson test -C build --print-errorlogs --no-suite open
open_tests=$(meson test -C build --list --suite open 2>/dev/null | grep '^gst-rtcoinfer:' | tr '\n' ' ' || true)
[ -z "$open_tests" ] || echo "test.sh: skipped suite 'open': $open_tests"

# Sanitizer build: plain C++ codec + GStreamer elements, no LibTorch (it is not built
# with ASan) - this is where the hostile-input tests earn their keep.
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dtorch=disabled \
    -Dbenchmarks=false -Dtests=enabled
fi
ninja -C build-asan
meson test -C build-asan --print-errorlogs
echo "test.sh: all suites passed"
