#!/usr/bin/env bash
# The GPU check: the whole suite (notebooks under nbval, unit tests, tests/test_cuda.py) on a machine with a CUDA GPU,
# then the training and decoding benchmarks on it. For a GPU machine whose Python already has torch with CUDA and the
# course's other dependencies; the CI's GPU job instead runs .ci/run, which installs them.
#
#     bash scripts/gpu_check.sh [LOG_DIR]     # default LOG_DIR: build/gpu_check
#
# Writes LOG_DIR/pytest.log, LOG_DIR/junit.xml and LOG_DIR/benchmark.log (BENCHMARKS=no leaves them out); exits
# with pytest's status. WORKERS sets the pytest-xdist workers (6), PYTEST_TIMEOUT a limit in seconds on the tests.
set -uo pipefail
cd "$(dirname "$0")/.."
log_dir="${1:-build/gpu_check}"
mkdir -p "$log_dir"
python="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
"$python" - <<'EOF'
import sys, torch, torchvision
assert torch.cuda.is_available(), "no CUDA GPU visible to torch"
print(f"python {sys.version.split()[0]}, torch {torch.__version__} (CUDA {torch.version.cuda}), torchvision {torchvision.__version__}, "
      f"{torch.cuda.get_device_name()}, bf16 {torch.cuda.is_bf16_supported()}")
EOF
coco=yes
command -v java >/dev/null && "$python" -c "import pycocoevalcap" 2>/dev/null || coco=no
[ "$coco" = yes ] || echo "no Java or no pycocoevalcap: the coco-caption tests skip and notebook 05 is left out"

# Several pytest workers when pytest-xdist is there; one file's tests (a notebook's cells) stay on one worker.
parallel=()
if "$python" -c "import xdist" 2>/dev/null; then parallel=(-n "${WORKERS:-6}" --dist loadfile); fi
skip=()
[ "$coco" = yes ] || skip=(--ignore notebooks/05_bleu_evaluation.ipynb)
OMP_NUM_THREADS=2 timeout "${PYTEST_TIMEOUT:-3600}" "$python" -m pytest "${parallel[@]}" "${skip[@]}" -rfEs --durations 15 --junitxml "$log_dir/junit.xml" 2>&1 | tee "$log_dir/pytest.log"
status=${PIPESTATUS[0]}

if [ "${BENCHMARKS:-yes}" = yes ]; then
    for what in train decode; do
        timeout 150 "$python" -m sat_course benchmark "$what" 2>&1 | tee -a "$log_dir/benchmark.log"
    done
fi
exit "$status"
