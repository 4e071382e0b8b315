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
  export CONFORMANCE_DIR="$shared/conformance"
else
  echo "no conformance kit at $shared/conformance: end-to-end client tests will fail" >&2
  exit 1
fi

step "protoc and its Go plugins (generated-code drift tests), tmux (console end-to-end test)"
need_apt=()
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
if ((${#need_apt[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
gobin=$(go env GOPATH)/bin
export PATH=$gobin:$PATH
[[ -x $gobin/protoc-gen-go ]] || go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
[[ -x $gobin/protoc-gen-go-grpc ]] || go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2

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

step "release check (goreleaser snapshot: binaries, archives, .deb/.rpm contents)"
bash scripts/release-check.sh || { echo "release check failed (scripts/release-check.sh)" >&2; exit 1; }

step "go test -race"
go test -race -count=1 -timeout 20m ./...
