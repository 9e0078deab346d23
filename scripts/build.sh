#!/usr/bin/env bash
# Configures (once) and builds the project into build/. Used by test.sh and demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f build/build.ninja ]; then
  meson setup --reconfigure build -Dtests=enabled >/dev/null
else
  meson setup build -Dtests=enabled
fi
ninja -C build
