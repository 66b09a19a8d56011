#!/bin/bash
# The CPU-scale experiments of chapter 7, one model after the other, as they were run for the committed results:
# each run's printed output is appended to results/experiments/cpu/<model>/stdout.txt and GNU time's report to time.txt
# (one report per sitting, so an interrupted run that resumed shows both parts).
# Every run resumes from its checkpoint; a run whose results.json exists is skipped, so this can be re-run at will.
# Choose runs with MODELS, e.g. MODELS="pit vitar" scripts/run_cpu_experiments.sh
set -e
cd "$(dirname "$0")/.."
for m in ${MODELS:-$(python -c "from rivit.experiments import MODELS, BEYOND; print(*MODELS, *BEYOND)")}; do
  out=results/experiments/cpu/$m
  if [ -e $out/results.json ]; then echo "$m: done ($out/results.json)"; continue; fi
  mkdir -p $out
  echo "$m: running, output in $out/stdout.txt"
  /usr/bin/time -a -v -o $out/time.txt rivit-experiments --scale cpu --models $m >> $out/stdout.txt
done
