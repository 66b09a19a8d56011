#!/bin/bash
# Pilot runs for chapter 7's CPU-scale protocol (issue 13): which model size, for how many epochs, gives the most
# accuracy per CPU-minute on the 2-core machine? Each pilot is the cpu scale with one or two settings changed (size,
# epochs, model; evaluated at 64/80/96/192 px): `PILOTS` in rivit.experiments (chapter 7) defines them, and
# `rivit-experiments --pilots NAME` runs them like any experiment. The size pilots train conv-sinusoidal (the best of
# the six at the old scale); the pilots of one group take about the same time, so their accuracies compare at equal cost.
# Output: results/pilots/cpu/<pilot>/ (results.json, predictions.json, curves.png, stdout.txt, GNU time's time.txt).
# A pilot whose results.json exists is skipped; an interrupted one resumes from its checkpoint. Choose pilots with
# PILOTS="size-mini-4ep" scripts/run_pilots.sh (on a quiet machine: `seconds` per epoch is the cost of a run)
set -e
cd "$(dirname "$0")/.."
# the allocator setting of scripts/run_cpu_experiments.sh (see there), so that a pilot's seconds compare with the runs'
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-67108864} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-2147483648}
export RIVIT_DATA=${RIVIT_DATA:-../shared/data/imagenette2-224}
# why the two plain-patch pilots: chapter 7's 20-epoch protocol left vanilla-learned below 60 %; in the hour of a conv
# run (20 epochs at 0.93 s per step) a plain-patch tiny model (0.52 s per step, benchmarks/results/step_time_cpu.json)
# trains about 36 epochs. vanilla-relative stayed below 60 % with both seeds; at 0.52 s per step against conv-learned's
# 0.77 s on the same machine (benchmarks/results/step_time_plain_cpu.json) the hour of 20 conv epochs buys it about 29
for p in ${PILOTS:-size-tiny-6ep size-mini-4ep size-small-3ep}; do
  out=results/pilots/cpu/$p
  if [ -e $out/results.json ]; then echo "$p: done ($out/results.json)"; continue; fi
  mkdir -p $out
  echo "$p: running, output in $out/stdout.txt"   # an interrupted pilot resumes from its checkpoint
  /usr/bin/time -a -v -o $out/time.txt rivit-experiments --pilots $p --root results/pilots >> $out/stdout.txt 2>> $out/stderr.txt
done
