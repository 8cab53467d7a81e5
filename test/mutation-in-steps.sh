#!/usr/bin/env bash
# A long mutation run in steps (npm run test:mutation:steps). Stryker writes its incremental file only when a run
# ends, so a run of hours that is stopped keeps nothing. Step k mutates the first k files: the files of the steps
# before are reused from the incremental file, so a step costs its new file's mutants plus one initial test run
# (about 20 s), and a stopped run keeps every step it finished. The last step is the whole run of stryker.config.mjs.
# FROM_STEP=k resumes a stopped run at step k (the steps before are not run again; their results are in the file).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files 'functions/domain/*.ts' 'functions/adapters/http/*.ts' | grep -v '\.d\.ts$')
mutate=""
step=0
for file in "${files[@]}"; do
  mutate="${mutate:+$mutate,}$file"
  step=$((step + 1))
  if ((step < ${FROM_STEP:-1})); then continue; fi
  echo "== step $step of ${#files[@]}: $file"
  npx stryker run --mutate "$mutate" "$@"
done
echo "== the whole run"
npx stryker run "$@"
