#!/usr/bin/env bash
# Installs every Debian 12 package gst-rtcoinfer needs to build, test and run.
# README.md and .ci/run both call this; nothing else is downloaded at build or run time.
set -euo pipefail

packages=(
  # build
  build-essential meson ninja-build pkg-config cmake ccache clang libclang-rt-14-dev clang-format
  # GStreamer 1.22 (core, base, good/bad plugins for rtpbin, rtpgstpay, netsim, check library)
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  libgstrtspserver-1.0-dev gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  # libraries
  libtorch-dev libopencv-dev libsoup-3.0-dev libzstd-dev nlohmann-json3-dev
  libyaml-cpp-dev libcli11-dev libxxhash-dev zlib1g-dev check
  # default data and test tools
  dataset-fashion-mnist iproute2 python3 python3-matplotlib python3-gi gir1.2-gstreamer-1.0
  gir1.2-gst-plugins-base-1.0 gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp
  # results service tests: a Prometheus text parser, a real browser for the dashboard
  python3-prometheus-client chromium
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
