#!/usr/bin/env bash
# Create .venv with the pinned OpenMMLab stack and lth_mm in editable mode.
#
# Idempotent: a stamp records a hash of the requirements and of this script; when nothing changed
# the script exits in about a second. mmcv 2.1.0 has only a source archive on PyPI and needs one
# fix to compile against torch >= 2.10 (C++20), so it is built once and cached outside the checkout,
# keyed on the Python, torch and mmcv versions (see ../shared/reference/dependencies.md).
#
# Environment: PYTHON (default python3.11), VENV (default .venv),
#              LTH_MM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/lth_mm).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=$(realpath -m "${VENV:-.venv}")
CACHE=${LTH_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lth_mm}
TORCH_VERSION=$(sed -n 's/^torch==//p' requirements/runtime.txt)
MMCV_VERSION=$(sed -n 's/^mmcv==//p' requirements/runtime.txt)
STEP="start"

fail() { echo "install.sh: step '$STEP' failed: $*" >&2; exit 1; }
trap 'rc=$?; [ $rc -eq 0 ] || echo "install.sh: step \"$STEP\" failed (exit $rc); see the output above." >&2' EXIT
step() { STEP=$1; echo "==> $1"; }

stamp_value=$(cat requirements/*.txt tools/install.sh setup.py | sha256sum | cut -c1-16)
stamp_file=$VENV/.lth_mm-install-stamp
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp_value" ] && [ -x "$VENV/bin/python" ]; then
  echo "==> environment $VENV is up to date"
  exit 0
fi

step "python"
command -v "$PYTHON" >/dev/null || fail "$PYTHON not found; set PYTHON=/path/to/python3.11"
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || fail "$PYTHON is not Python 3.11; set PYTHON=/path/to/python3.11"

step "virtual environment"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
export PIP_DEFAULT_TIMEOUT=${PIP_DEFAULT_TIMEOUT:-180}

# pip with retries. A download corrupted or cut short in transit fails pip at once ("THESE PACKAGES
# DO NOT MATCH THE HASHES"; seen once in CI for opencv-python, fine on the next try), and pip does
# not retry that itself. Later attempts skip pip's cache, so a bad cached response is not reused.
# PIP_ATTEMPTS (default 3) and PIP_RETRY_WAIT (seconds, default 10, times the attempt) tune it.
pip_retry() {
  local attempt attempts=${PIP_ATTEMPTS:-3} cache=()
  for ((attempt = 1; ; attempt++)); do
    "${PIP[@]}" "${cache[@]}" "$@" && return 0
    [ "$attempt" -lt "$attempts" ] || return 1
    echo "    pip failed (attempt $attempt of $attempts); retrying without pip's cache" \
      "in $((attempt * ${PIP_RETRY_WAIT:-10})) s" >&2
    sleep $((attempt * ${PIP_RETRY_WAIT:-10}))
    cache=(--no-cache-dir)
  done
}

step "torch and build tools"
pip_retry install -q -r requirements/build.txt "torch==$TORCH_VERSION" \
  "$(grep '^torchvision==' requirements/runtime.txt)" "$(grep '^numpy' requirements/runtime.txt)"

step "mmcv $MMCV_VERSION with CPU ops"
py_tag=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
wheel_dir=$CACHE/wheels/mmcv-$MMCV_VERSION-$py_tag-torch$TORCH_VERSION-$(uname -m)
if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
    build=$(mktemp -d)
    pip_retry download -q --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$build"
    tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
    src=$build/mmcv-$MMCV_VERSION
    # torch >= 2.10 headers need C++20; mmcv appends -std=c++17 last, so CXXFLAGS cannot override it.
    sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    grep -q -- '-std=c++20' "$src/setup.py" || fail "could not patch mmcv's setup.py for C++20"
    echo "    compiling mmcv ops (about 6 min on 2 cores, once per machine)"
    (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} CFLAGS=-g0 CXXFLAGS=-g0 \
      "$VENV/bin/python" -m pip wheel -q --no-build-isolation --no-deps -w "$build/dist" . )
    mkdir -p "$CACHE/wheels"
    tmp_dir=$(mktemp -d "$CACHE/wheels/.tmp.XXXX")
    cp "$build"/dist/mmcv-*.whl "$tmp_dir"/
    rm -rf "$wheel_dir" && mv "$tmp_dir" "$wheel_dir"   # atomic publish of the cache entry
    rm -rf "$build"
  fi
  "${PIP[@]}" install -q --no-deps --force-reinstall "$wheel_dir"/mmcv-*.whl
fi

step "OpenMMLab stack and test tools"
constraints=$(mktemp)
grep -E '^(numpy|opencv-python|setuptools|torch|torchvision|mmcv)' requirements/runtime.txt > "$constraints"
pip_retry install -q -c "$constraints" -r requirements/runtime.txt -r requirements/tests.txt \
  "$wheel_dir"/mmcv-*.whl
rm -f "$constraints"

step "lth_mm (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .

step "check"
"$VENV/bin/python" - <<'PY'
import mmcv, mmcv.ops, mmdet, mmengine, mmpretrain, mmseg, numpy, torch
assert numpy.__version__ < '2', numpy.__version__
print(f'    torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__}, '
      f'mmpretrain {mmpretrain.__version__}, mmdet {mmdet.__version__}, mmseg {mmseg.__version__}')
PY

echo "$stamp_value" > "$stamp_file"
echo "==> environment $VENV is ready"
