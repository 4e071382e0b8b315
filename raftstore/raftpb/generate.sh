#!/usr/bin/env bash
# Regenerates raft.pb.go, raft_grpc.pb.go, cluster.pb.go and cluster_grpc.pb.go from raft.proto and
# cluster.proto. Tools (see drift_test.go):
#   apt-get install -y protobuf-compiler                                   (protoc 3.21)
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
# Usage: generate.sh [OUTPUT_DIR]   (default: this directory)
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-.}
protoc --proto_path=. \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  raft.proto cluster.proto
