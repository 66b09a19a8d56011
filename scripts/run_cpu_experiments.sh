#!/bin/bash
# The CPU-scale experiments of chapter 7, one run after the other, as they were run for the committed results (the
# allocator setting below since the 20-epoch protocol's fourth run; each run's time.txt is its measured cost):
# each run's printed output is appended to ROOT/cpu/<run>/stdout.txt and GNU time's report to time.txt (one report
# per sitting, so an interrupted run that resumed shows both parts). <run> is the model's name, with -seedN for seed N > 0.
# Every run resumes from its checkpoint; a run whose results.json exists is skipped, so this can be re-run at will.
#
#   MODELS="pit vitar" scripts/run_cpu_experiments.sh     # some models (default: the report's six and chapters 9-11's four)
#   SEEDS="0 1" scripts/run_cpu_experiments.sh            # seeds, all models of one seed before the next (default: 0)
#   ROOT=results/next EPOCHS=20 scripts/run_cpu_experiments.sh   # another results root; override the scale's epochs
#
# Between two runs the script waits while the file ROOT/HOLD exists: `touch ROOT/HOLD` lets the running one finish
# and keeps the machine quiet (e.g. for a benchmark) until `rm ROOT/HOLD`.
set -e
cd "$(dirname "$0")/.."
# glibc keeps freed memory for reuse instead of returning it to the OS (and faulting it in again at the next step):
# faster CPU training steps on the course's 2-core machine (benchmarks/results/step_time_keep_freed_cpu.json against
# step_time_glibc_defaults_cpu.json); only where memory comes from changes. Blocks of 64 MiB and more are still mapped
# and returned: with a 1 GiB threshold (the setting until 2026-12-03) the heap fragmented during the final evaluation
# of a plain-patch relative model at 128-224 px (tensors of tens to hundreds of MB, every size different) and grew
# past the machine's 23 GB, and the kernel killed the run (vanilla-relative, seed 0; results/experiments/README.md).
# The cpu scale's training steps allocate less than 64 MiB at a time (the largest block, a tiny conv stem's activations
# for 64 images at 96 px, is about 38 MB). Set either variable yourself to override.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-67108864} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-2147483648}
# the runs call the installed rivit-experiments: fail here, in one line, if it cannot import rivit (not after the first run)
rivit-experiments --help > /dev/null 2>&1 || { echo "rivit-experiments cannot start (is rivit installed here? pip install -e . from the repository root, see the README); no run was started" >&2; exit 1; }
root=${ROOT:-results/experiments}
models=${MODELS:-$(python -c "from rivit.experiments import MODELS, BEYOND; print(*MODELS, *BEYOND)")}
for seed in ${SEEDS:-0}; do
  for m in $models; do
    run=$m$([ "$seed" != 0 ] && echo "-seed$seed" || true)
    out=$root/cpu/$run
    if [ -e $out/results.json ]; then echo "$run: done ($out/results.json)"; continue; fi
    while [ -e $root/HOLD ]; do sleep 20; done
    mkdir -p $out
    echo "$run: running from $(date -u +%H:%M) UTC, output in $out/stdout.txt"
    /usr/bin/time -a -v -o $out/time.txt rivit-experiments --scale cpu --models $m --seeds $seed --root $root \
      ${EPOCHS:+--epochs $EPOCHS} >> $out/stdout.txt 2>> $out/stderr.txt
  done
done
