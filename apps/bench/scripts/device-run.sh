#!/bin/bash
# Runs the kernels bench's gpu.js webgpu rows on this machine's GPU through Dawn's Vulkan backend, with the Node,
# bench and packages of this folder (made by apps/bench/scripts/device-bundle.mjs, which copies this file,
# apps/bench/scripts/device-run.sh, into it). From the checkout's root:
#   bash .device/run.sh          (results and log.txt into $OUT, or a fresh temporary folder)
# When DAWN_BACKEND=vulkan gives no adapter, it probes Dawn's OpenGL ES backend (EGL_PLATFORM=surfaceless) and, if
# that answers, runs the bench there (marked FALLBACK). Knobs (environment): DAWN_BACKEND (vulkan), BENCH_ARGS (the kernels suite options after the fixed ones),
# NODE_BIN (where node is unpacked: /tmp/node), SKIP_GL_DEBS=1 (do not unpack ../.gl/*.deb into /),
# PROBE_TIMEOUT (30), BENCH_TIMEOUT (150) seconds; SKIP_KERNELS=1 (no kernels suite), STEP_ARGS (the step suite's
# options: training steps of TinyLM on wasm and gpujs-webgpu; empty to skip), STEP_TIMEOUT (150) seconds.
D=$(cd "$(dirname "$0")" && pwd)
: "${OUT:=$(mktemp -d)}"
mkdir -p "$OUT"
: "${DAWN_BACKEND:=vulkan}"
: "${BENCH_ARGS:=--threads 1,16 --rounds 5 --shapes 1,2,3}"
: "${NODE_BIN:=/tmp/node}"
: "${PROBE_TIMEOUT:=30}"
: "${BENCH_TIMEOUT:=150}"
: "${STEP_ARGS=--backends wasm:1,wasm:16,gpujs-webgpu --steps 5 --warmup 1}"
: "${STEP_TIMEOUT:=150}"
step() { echo; echo "===== $* ($(date -u +%H:%M:%S)) ====="; }

{

step "loaders"
if [ "${SKIP_GL_DEBS:-0}" != 1 ] && ls "$D"/../.gl/*.deb >/dev/null 2>&1; then
  for f in "$D"/../.gl/*.deb; do dpkg -x "$f" / || echo "dpkg -x $f failed"; done
  ldconfig
else
  echo "(no .gl debs unpacked)"
fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; fi
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json; fi
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-}"
cat "$D/BUILD.txt" 2>/dev/null

step "machine"
nvidia-smi -L || echo "(nvidia-smi failed)"
ldconfig -p | grep -i vulkan || echo "(no libvulkan in ldconfig)"
ls /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null
nproc; (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); ldd --version 2>/dev/null | head -1

step "node"
python3 -c "import lzma,shutil,sys;shutil.copyfileobj(lzma.open(sys.argv[1]),open(sys.argv[2],'wb'))" "$D/node.xz" "$NODE_BIN" && chmod +x "$NODE_BIN" || { echo "FAILED: unpacking node"; exit 1; }
"$NODE_BIN" --version || { echo "FAILED: node does not run"; exit 1; }
# The other packed files (dawn.node, lib/libstdc++.so.6) unpack in place, once.
python3 -c "
import lzma,shutil,os,sys
for r,_,fs in os.walk(sys.argv[1]):
  for f in fs:
    p=os.path.join(r,f)
    if f.endswith('.xz') and p!=os.path.join(sys.argv[1],'node.xz') and not os.path.exists(p[:-3]):
      shutil.copyfileobj(lzma.open(p),open(p[:-3]+'.tmp','wb')); os.replace(p[:-3]+'.tmp',p[:-3]); print('unpacked',p[:-3])
" "$D" || { echo "FAILED: unpacking"; exit 1; }
# dawn.node needs GLIBCXX_3.4.30; use the carried libstdc++ where this one is older.
SYS_CXX=$(ldconfig -p | grep -m1 'libstdc++.so.6 .*x86-64' | sed 's/.*=> //')
if [ -n "$SYS_CXX" ] && ! grep -qa GLIBCXX_3.4.30 "$SYS_CXX" && [ -f "$D/lib/libstdc++.so.6" ]; then
  echo "system libstdc++ ($SYS_CXX) lacks GLIBCXX_3.4.30: using $D/lib"; export LD_LIBRARY_PATH="$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# probe BACKEND: create Dawn with that backend, print the adapter(s) and a tiny readback; exit 0 when one answers.
PROBE_JS='
const { create, globals } = await import("webgpu");
Object.assign(globalThis, globals);
const backend = process.env.DAWN_BACKEND;
const gpu = create(["backend=" + backend]);
const tries = backend === "opengles" ? [{ featureLevel: "compatibility" }] : [{ powerPreference: "high-performance" }, {}, { featureLevel: "compatibility" }];
let adapter = null;
for (const opts of tries) {
  adapter = await gpu.requestAdapter(opts);
  console.log("requestAdapter(" + JSON.stringify(opts) + "):", adapter === null ? "null" : JSON.stringify({ vendor: adapter.info.vendor, architecture: adapter.info.architecture, device: adapter.info.device, description: adapter.info.description, isFallbackAdapter: adapter.info.isFallbackAdapter }));
  if (adapter !== null) break;
}
if (adapter === null) { console.log("PROBE: no adapter"); process.exit(3); }
const l = adapter.limits;
console.log("features:", [...adapter.features].sort().join(" "));
console.log("limits:", JSON.stringify({ maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize, maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup, maxTextureDimension2D: l.maxTextureDimension2D }));
const device = await adapter.requestDevice();
const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
device.queue.writeBuffer(buf, 0, new Float32Array([1, 2, 3, 4]));
await buf.mapAsync(GPUMapMode.READ);
console.log("PROBE: device ok, readback", Array.from(new Float32Array(buf.getMappedRange())).join(","));
buf.unmap();
device.destroy();
process.exit(0);
'
probe() {
  step "probe: webgpu adapter through Dawn backend=$1"
  (cd "$D" && DAWN_BACKEND="$1" timeout "$PROBE_TIMEOUT" "$NODE_BIN" --input-type=module -e "$PROBE_JS")
  local rc=$?
  echo "probe $1 exit: $rc"
  return $rc
}
BACKEND=""
if probe "$DAWN_BACKEND"; then
  BACKEND=$DAWN_BACKEND
elif [ "$DAWN_BACKEND" = vulkan ]; then
  # Plan B: Dawn's OpenGL ES backend on the driver's EGL (headless), so the run still measures something.
  export EGL_PLATFORM=surfaceless
  if probe opengles; then BACKEND=opengles; echo "FALLBACK: Vulkan gave no adapter; the bench runs on Dawn's OpenGL ES backend"; fi
fi

if [ -z "$BACKEND" ]; then
  step "bench skipped: no WebGPU adapter answered"
else
cd "$D"
export BITSKIP_DAWN_BACKEND="$BACKEND"
if [ "${SKIP_KERNELS:-0}" != 1 ]; then
step "bench: kernels --gpujs webgpu (BITSKIP_DAWN_BACKEND=$BACKEND) $BENCH_ARGS"
bench() { timeout "$BENCH_TIMEOUT" "$NODE_BIN" --experimental-wasm-relaxed-simd "$D/bench.mjs" kernels --gpujs webgpu --gpujs-all-shapes --no-cpu --no-softmax "$@" --out "$OUT"; }
# shellcheck disable=SC2086
bench $BENCH_ARGS
rc=$?
echo "bench exit: $rc"
if [ "$rc" != 0 ] && [ "$rc" != 124 ]; then
  # One shape failing (e.g. validation) loses the others' rows: time each shape alone, briefly.
  shapes=$(echo " $BENCH_ARGS " | sed -n 's/.* --shapes \([^ ]*\) .*/\1/p')
  others=$(echo " $BENCH_ARGS " | sed 's/ --shapes [^ ]*//')
  for s in $(echo "$shapes" | tr , ' '); do
    step "bench retry: shape $s alone"
    # shellcheck disable=SC2086
    BENCH_TIMEOUT=35 bench $others --shapes "$s"
    echo "bench shape $s exit: $?"
  done
fi
fi
if [ -n "$STEP_ARGS" ]; then
  step "bench: step $STEP_ARGS (BITSKIP_DAWN_BACKEND=$BACKEND)"
  # shellcheck disable=SC2086
  timeout "$STEP_TIMEOUT" "$NODE_BIN" --experimental-wasm-relaxed-simd "$D/bench.mjs" step $STEP_ARGS --out "$OUT"
  echo "step exit: $?"
fi
fi

step "done"
ls -la "$OUT"
} 2>&1 | tee -a "$OUT/log.txt"
