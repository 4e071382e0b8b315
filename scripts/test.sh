#!/usr/bin/env bash
# The project's test command (README.md): installs what the tests need, lints, and runs every test
# with the race detector. Safe to run repeatedly; installs are cached.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared=${CHRONIK_SHARED:-$root/../shared}

step() { printf '\n==> %s\n' "$*"; }

step "installing third-party Kafka clients for the end-to-end tests"
if [[ -x $shared/conformance/install.sh ]] || [[ -f $shared/conformance/install.sh ]]; then
  bash "$shared/conformance/install.sh"
  export CHRONIK_CONFORMANCE="$shared/conformance"
else
  echo "no conformance kit at $shared/conformance: end-to-end client tests will fail" >&2
  exit 1
fi

step "go modules"
go mod download
go mod verify >/dev/null

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [[ -n $unformatted ]]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "go test -race"
go test -race -count=1 -timeout 20m ./...
