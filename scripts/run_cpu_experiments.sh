#!/bin/bash
# The CPU-scale experiments of chapter 7, one model after the other, as they were run for the committed results:
# each run's printed output goes to results/experiments/cpu/<model>/stdout.txt and GNU time's report to time.txt.
# Every run resumes from its checkpoint and is skipped once its results.json exists, so this can be re-run at will.
set -e
cd "$(dirname "$0")/.."
for m in ${MODELS:-conv-relative vanilla-relative conv-learned vanilla-learned conv-sinusoidal vanilla-sinusoidal}; do
  mkdir -p results/experiments/cpu/$m
  /usr/bin/time -v -o results/experiments/cpu/$m/time.txt rivit-experiments --scale cpu --models $m > results/experiments/cpu/$m/stdout.txt
done
