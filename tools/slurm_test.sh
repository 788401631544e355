#!/usr/bin/env bash
# Usage: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [ARGS of tools/test.py]
# Environment: GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS, PYTHON
# (default: the project's .venv).
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [ARGS of tools/test.py]" >&2
  exit 2
fi
exec bash "$(dirname "$0")/_slurm.sh" "$1" "$2" test.py "$3" "$4" --launcher=slurm "${@:5}"
