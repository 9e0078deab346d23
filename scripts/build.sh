#!/usr/bin/env bash
# Configures (once) and builds the project into build/, with LibTorch required (a build
# without it would silently lose the head, the tail, the trainer and their tests). Used
# by test.sh and demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f build/build.ninja ]; then
  meson setup --reconfigure build -Dtests=enabled -Dtorch=enabled >/dev/null
else
  meson setup build -Dtests=enabled -Dtorch=enabled
fi
ninja -C build
