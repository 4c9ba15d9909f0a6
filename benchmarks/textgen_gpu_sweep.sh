#!/usr/bin/env bash
# Several configurations of benchmarks/textgen.py on one CUDA GPU, one process each (the clock of
# each starts at its own launch), in about 4-5 minutes on an H200. Each run prints its configuration
# line, its summary (steps, tokens, tokens/s, MFU) and its last line
#   val_loss <nats> wall_s <s> tokens_per_s <tokens/s>
# Goal: val_loss <= 1.47 with wall_s <= 20.
#
#   LLM_BOOK_DATA=/path/to/data bash benchmarks/textgen_gpu_sweep.sh [python]
#
# LLM_BOOK_DATA must hold tinyshakespeare/input.txt (a copy of ../shared/data); the package is
# imported from this checkout (PYTHONPATH), so nothing needs installing beyond torch and numpy.
set -u
cd "$(dirname "$0")/.."
PY=${1:-python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ ! -f "${LLM_BOOK_DATA:-}/tinyshakespeare/input.txt" ]; then
    echo "set LLM_BOOK_DATA to a folder with tinyshakespeare/input.txt (a copy of shared/data)" >&2
    exit 2
fi

run() {
    echo "=== $*"
    local start=$(date +%s%N)
    timeout 120 "$PY" benchmarks/textgen.py --device cuda "$@" 2>&1 | grep -v "^step " | tail -n 3
    echo "    launch to exit: $(( ($(date +%s%N) - start) / 1000000 )) ms"
}

# 1. GPU_CONFIG as it is: 6 x 384, block 256, batch 128, lr 1.5e-3, dropout 0.1, 19 s budget
run
# 2-3. the first recipe tried (batch 256, lr 2e-3), without dropout and with nanoGPT's 0.2
run --batch-size 256 --lr 2e-3 --min-lr 2e-4 --dropout 0
run --batch-size 256 --lr 2e-3 --min-lr 2e-4 --dropout 0.2
# 4. a higher peak learning rate
run --lr 2e-3 --min-lr 2e-4
# 5. half the batch again: twice the steps for the same tokens
run --batch-size 64 --lr 1e-3 --min-lr 1e-4
# 6. a deeper, wider model for the same budget
run --num-layers 8 --embed-dim 512 --num-heads 8
# 7. torch.compile, with a longer budget, to see what compiling costs and gains per step
run --compile --max-seconds 45
# 8. no clock: 1500 steps, what the recipe reaches given the time
run --no-time-limit --max-iters 1500
