#!/usr/bin/env bash
# Shared by slurm_train.sh and slurm_test.sh: runs `PYTHON -u tools/TOOL ARGS` on GPUS slurm
# tasks. Usage: tools/_slurm.sh PARTITION JOB_NAME TOOL [ARGS of the tool]
# Environment: GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS, PYTHON
# (default: the project's .venv).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
TOOL=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python; fi
fi
read -r -a SRUN_EXTRA <<< "${SRUN_ARGS:-}"

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
  --job-name="$JOB_NAME" \
  --gres=gpu:"$GPUS_PER_NODE" \
  --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 \
  "${SRUN_EXTRA[@]}" \
  "$PYTHON" -u "$ROOT/tools/$TOOL" "${@:4}"
