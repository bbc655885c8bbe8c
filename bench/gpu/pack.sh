#!/usr/bin/env bash
# Packs the GPU check (bench/gpu/check.ts) for a machine with an NVIDIA GPU but no Node and no package
# registry: Node's binary (xz), one bundled entry point (esbuild), koffi's linux x64 build, the kernel
# sources and p1, into one folder (default .gpu-pack/, git-ignored) of at most 64 MB. On the GPU machine:
#   bash .gpu-pack/run.sh [--solver cuda] [--sizes ...] [--out FILE]
# unpacks Node to a temporary folder and runs the check (docs/gpu.md).
# Env: PACK_DIR (output folder), XZ_LEVEL (default 6; the test uses 0 for speed), NODE_BIN.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${PACK_DIR:-$root/.gpu-pack}"
node_bin="${NODE_BIN:-$(command -v node)}"
[ "$(uname -m)" = x86_64 ] || { echo "pack.sh: packs an x86-64 Node; this machine is $(uname -m)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/node_modules/koffi/build/koffi" "$out/kernels"
# 1. the entry point, bundled (koffi stays external: it loads its native build by path)
"$root/node_modules/.bin/esbuild" "$root/bench/gpu/check.ts" --bundle --platform=node --format=esm --target=node20 \
  --external:koffi --outfile="$out/check.mjs" --log-level=warning \
  --banner:js="import { createRequire as __dmpcCreateRequire } from 'node:module'; const require = __dmpcCreateRequire(import.meta.url);"
# 2. koffi: its loader and the linux x64 native module only
k="$root/node_modules/koffi"
cp "$k/package.json" "$k/index.js" "$k/indirect.js" "$k/LICENSE.txt" "$out/node_modules/koffi/"
cp -r "$k/build/koffi/linux_x64" "$out/node_modules/koffi/build/koffi/"
# 3. the kernel sources (compiled by NVRTC there; cached by source hash) and the problem file
cp "$root"/src/gpu/kernels/*.cu "$root"/src/gpu/kernels/*.h "$out/kernels/"
cp "$root/bench/problems/p1_lqr_box.json" "$out/"
# 4. the PTX, compiled here by NVRTC (compute_80 and compute_90): the GPU machine then needs no NVRTC
mkdir -p "$out/ptx"
ptx=$(cd "$root" && "$root/node_modules/.bin/tsx" -e "
import { compilePtx } from './src/gpu/nvrtc.ts';
for (const a of ['compute_80', 'compute_90']) console.log(compilePtx(a).path);")
for p in $ptx; do cp "$p" "$out/ptx/"; echo "pack.sh: PTX $(basename "$p")"; done
# 5. Node itself
xz -T0 "-${XZ_LEVEL:-6}" -c "$node_bin" > "$out/node.xz"
"$node_bin" --version > "$out/node.version"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Unpacks Node next to a temporary cache and runs the GPU check with the arguments given.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="${DMPC_RUN_TMP:-$(mktemp -d)}"
mkdir -p "$tmp"
if [ ! -x "$tmp/node" ]; then
  # xz, or Python's lzma where xz-utils is missing (the GPU machines have Python)
  if command -v xz >/dev/null && [ "${DMPC_UNXZ:-xz}" = xz ]; then xz -dc "$here/node.xz" > "$tmp/node.part"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$here/node.xz" "$tmp/node.part"; fi
  chmod +x "$tmp/node.part" && mv "$tmp/node.part" "$tmp/node"
fi
export DMPC_GPU_KERNELS="$here/kernels/" DMPC_GPU_CACHE="${DMPC_GPU_CACHE:-$tmp/cache}"
mkdir -p "$DMPC_GPU_CACHE" && cp -n "$here"/ptx/*.ptx "$DMPC_GPU_CACHE"/ 2>/dev/null || true
exec "$tmp/node" "$here/check.mjs" --p1 "$here/p1_lqr_box.json" "$@"
RUN
chmod +x "$out/run.sh"
size=$(du -sb "$out" | cut -f1)
echo "pack.sh: $out is $((size / 1024 / 1024)) MB ($size bytes)"
[ "$size" -le $((64 * 1024 * 1024)) ] || { echo "pack.sh: over 64 MB" >&2; exit 1; }
