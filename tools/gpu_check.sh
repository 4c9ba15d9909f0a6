#!/usr/bin/env bash
# Run every notebook's GPU path on a CUDA machine and keep the executed copies.
#
#   bash tools/gpu_check.sh OUT_DIR [WHEEL_DIR]
#
# The committed outputs are the CPU run; this executes copies of the notebooks (device = cuda),
# writes them under OUT_DIR, and prints each one's printed output, so a chapter's GPU path is seen
# working. On a machine with no internet, WHEEL_DIR holds wheels of the Jupyter packages it lacks
# (pip download them elsewhere for its Python); torch and numpy must already be installed there.
set -euo pipefail
out=${1:?usage: tools/gpu_check.sh OUT_DIR [WHEEL_DIR]}
wheels=${2:-}
py=${PYTHON:-python3}
cd "$(dirname "$0")/.."
if [ -n "$wheels" ]; then
  # the notebooks' own imports beyond torch and numpy (chapters 6 and 7 included)
  pkgs=(nbclient nbformat ipykernel anywidget ipywidgets tqdm matplotlib sympy sacrebleu seqeval
        safetensors regex line_profiler gprof2dot tensorboard)
  "$py" -m pip install -q --no-index --find-links "$wheels" "${pkgs[@]}" 2>/dev/null \
    || "$py" -m pip install -q --no-index --find-links "$wheels" --break-system-packages "${pkgs[@]}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$py" -c "import torch, book.env as e; assert torch.cuda.is_available(), 'no CUDA device'; print(e.report())"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$py" tools/execute_notebooks.py --out "$out" "${@:3}"
"$py" - "$out" <<'PY'
import json, sys, pathlib
for nb in sorted(pathlib.Path(sys.argv[1]).rglob("*.ipynb")):
    print(f"===== {nb.relative_to(sys.argv[1])}")
    for cell in json.loads(nb.read_text())["cells"]:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                print("".join(o["text"]).rstrip())
PY
