#!/usr/bin/env bash
# Regenerates consolepb/console.pb.go and consolepb/console_grpc.pb.go from console.proto.
# Tools (see drift_test.go; scripts/test.sh installs them):
#   apt-get install -y protobuf-compiler                                   (protoc 3.21)
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
# Usage: generate.sh [OUTPUT_DIR]   (default: this directory; files go to OUTPUT_DIR/consolepb)
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-.}
mkdir -p "$out/consolepb"
protoc --proto_path=. \
  --go_out="$out" --go_opt=module=github.com/chronik-stream/chronik/api \
  --go-grpc_out="$out" --go-grpc_opt=module=github.com/chronik-stream/chronik/api \
  console.proto
