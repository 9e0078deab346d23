#!/usr/bin/env bash
# The README's main job: on a fresh Debian 12 machine (as root) it installs the
# packages, builds, and runs pipelines/demo - two cameras (device processes) and one
# server on loopback, Fashion-MNIST test images at 30 fps through the shipped SW-CNN
# over RTP/RTCP, with live results and a summary per camera that accounts for every
# frame. Extra arguments go to pipelines/demo (e.g. --frames 900 --cameras 1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
export GST_PLUGIN_PATH="$PWD/build/plugins"
exec pipelines/demo "$@"
