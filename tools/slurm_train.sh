#!/usr/bin/env bash
# Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [ARGS of tools/train.py]
# Environment: GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS, PYTHON
# (default: the project's .venv).
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [ARGS of tools/train.py]" >&2
  exit 2
fi
exec bash "$(dirname "$0")/_slurm.sh" "$1" "$2" train.py "$3" --work-dir="$4" --launcher=slurm \
  "${@:5}"
