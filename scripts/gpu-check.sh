#!/usr/bin/env bash
# The checks and benchmarks of the cuda engine on a real GPU, in one run (BENCHMARKS.md quotes
# its output): the CUDA tests on the device, then fwd + BPTT against cuDNN, then a whole
# training step of every family. Needs numba-cuda, CuPy and PyTorch with CUDA.
#   scripts/gpu-check.sh [LOG_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
log=${1:-.}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import numba, numba_cuda, cupy, torch, numpy; print('numba', numba.__version__, \
'numba-cuda', numba_cuda.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__, \
'numpy', numpy.__version__)"
# 1. the CUDA tests, on the device: kernels against the tape engine (cudasim_cases.py, here on
#    the GPU), device-resident training against the numpy engine, PTX for cc 9.0, the simulator
python3 -m pytest -q -p no:cacheprovider -W ignore::numba.core.errors.NumbaPerformanceWarning \
    tests/cudasim_cases.py tests/cuda_device_cases.py tests/test_cuda.py -k "not on_the_gpu" 2>&1 \
    | tee "$log/gpu-tests.log" | tail -25
# 2. fwd + BPTT of the StateSpaceRNN against cuDNN's nn.RNN (TF32 off on both sides)
minirnn bench --backend cuda --size 32,100,64 --size 64,100,512 --size 256,100,1024 \
    --size 8,1000,32 --size 1,100,8 --repeat 7 --json > "$log/gpu-bench.json"
python3 - "$log/gpu-bench.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
for r in rows:
    print(f"{r['backend']:>13} B={r['batch']:>3} T={r['steps']:>4} H={r['hidden']:>4} "
          f"{r['median_ms']:9.3f} ms  x_torch={r['speedup_vs_torch'] or 0:.2f}")
PY
# 3. a whole training step of every family, cpu engine (all cores) against the cuda engine
minirnn bench --training --backend all --size 32,100,64 --size 64,100,512 --repeat 5 \
    --json > "$log/gpu-training.json"
python3 - "$log/gpu-training.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
PY
