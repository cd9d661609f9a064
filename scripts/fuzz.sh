#!/usr/bin/env bash
# Runs every Go fuzz target of the repository (func FuzzX(f *testing.F) in
# any _test.go file) for STAMPEDE_FUZZTIME each (default 3s). Go runs one
# target per invocation, so they run one after the other. `make test` runs
# this with the default; see docs/testing.md for long runs.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${STAMPEDE_FUZZTIME:-3s}
n=0
while IFS= read -r file; do
  pkg=./$(dirname "$file")
  for name in $(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(f \*testing\.F\).*/\1/p' "$file"); do
    echo "fuzz $name ($pkg, $fuzztime)"
    if ! out=$(go test -run XXX -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
      # Go before 1.27 may fail a target with a bare "context deadline
      # exceeded" when -fuzztime ends (go.dev/issue/75804): no input
      # failed, and none was written. Only that is retried; a real
      # failure writes its input under testdata/fuzz and fails the run.
      new=$(git status --porcelain --untracked-files=all -- "$(dirname "$file")/testdata/fuzz/$name" 2>/dev/null)
      if [ -z "$new" ] && [ "$(printf '%s\n' "$out" | grep -c '^    context deadline exceeded$')" = 1 ] &&
        out=$(go test -run XXX -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
        echo "  (retried: the fuzzing engine's deadline race, go.dev/issue/75804)"
      else
        echo "$out"; exit 1
      fi
    fi
    n=$((n + 1))
  done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | sort)
echo "$n fuzz targets passed ($fuzztime each)"
