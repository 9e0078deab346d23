#!/usr/bin/env bash
# The README's main job. Until the head/tail elements land this is a codec demo: it
# codes a 32x14x14 ReLU6 feature tensor (the default model's partition output) through
# rtcoinfer-compress at a few setups and prints the frame sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
export GST_PLUGIN_PATH="$PWD/build/plugins"
python3 - <<'PY'
import random, struct
random.seed(1)
with open('/tmp/rtcoinfer-demo.f32', 'wb') as f:
    for _ in range(30 * 32 * 14 * 14):
        f.write(struct.pack('<f', min(6.0, max(0.0, random.gauss(1.0, 2.0)))))
PY
for setup in 32x16 32x8 8x4 4x2 1x1; do
  gst-launch-1.0 -q filesrc location=/tmp/rtcoinfer-demo.f32 blocksize=25088 \
    ! "application/x-rtcoinfer-features,channels=32,height=14,width=14,model-id=(string)00000000" \
    ! rtcoinfer-compress setup=$setup entropy=auto ! filesink location=/tmp/rtcoinfer-demo.frames
  bytes=$(stat -c %s /tmp/rtcoinfer-demo.frames)
  echo "setup=$setup frames=30 bytes_per_frame=$((bytes / 30)) (raw tensor: 25088 bytes)"
done
