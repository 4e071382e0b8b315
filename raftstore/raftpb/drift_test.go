package raftpb

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tool versions the committed code was generated with (see generate.sh).
const (
	wantProtoc        = "libprotoc 3.21"
	wantProtocGenGo   = "v1.36.12"
	wantProtocGenGRPC = "1.6.2"
)

// toolPath finds a code generator on PATH or in the Go bin directory, where `go install` puts it.
func toolPath(t *testing.T, name string, gobin string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join(gobin, name); fileExists(p) {
		return p
	}
	t.Fatalf("%s not found on PATH or in %s: install the code generators as listed in raftstore/raftpb/generate.sh "+
		"(apt-get install -y protobuf-compiler; go install google.golang.org/protobuf/cmd/protoc-gen-go@%s; "+
		"go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v%s)", name, gobin, wantProtocGenGo, wantProtocGenGRPC)
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func goBin(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
		return strings.TrimSpace(lines[0])
	}
	gopath := strings.TrimSpace(lines[len(lines)-1])
	return filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin")
}

func version(t *testing.T, tool string) string {
	t.Helper()
	out, err := exec.Command(tool, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", tool, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestGeneratedCodeIsCurrent regenerates the Go code from raft.proto and cluster.proto with
// generate.sh into a temporary directory and fails when it differs from the committed files.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	gobin := goBin(t)
	protoc := toolPath(t, "protoc", gobin)
	genGo := toolPath(t, "protoc-gen-go", gobin)
	genGRPC := toolPath(t, "protoc-gen-go-grpc", gobin)
	for _, c := range []struct{ tool, want string }{
		{protoc, wantProtoc}, {genGo, wantProtocGenGo}, {genGRPC, wantProtocGenGRPC},
	} {
		if v := version(t, c.tool); !strings.Contains(v, c.want) {
			t.Fatalf("%s reports %q, want %s: install the versions listed in generate.sh", c.tool, v, c.want)
		}
	}

	out := t.TempDir()
	cmd := exec.Command("bash", "generate.sh", out)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(protoc)+string(os.PathListSeparator)+
		filepath.Dir(genGo)+string(os.PathListSeparator)+filepath.Dir(genGRPC)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate.sh: %v\n%s", err, b)
	}
	for _, name := range []string{"raft.pb.go", "raft_grpc.pb.go", "cluster.pb.go", "cluster_grpc.pb.go"} {
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatalf("generate.sh did not produce %s: %v", name, err)
		}
		if !bytes.Equal(committed, fresh) {
			t.Errorf("%s is stale: run raftstore/raftpb/generate.sh (first difference: %s)", name, firstDiff(committed, fresh))
		}
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d: committed %q, generated %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("committed has %d lines, generated %d", len(al), len(bl))
}
