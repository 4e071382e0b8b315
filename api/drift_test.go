package api

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

var generated = []string{"consolepb/console.pb.go", "consolepb/console_grpc.pb.go"}

// TestGeneratedCodeIsCurrent regenerates the Go code from console.proto with generate.sh into a
// temporary directory and fails when it differs from the committed files.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	gobin := goBin(t)
	tools := map[string]string{}
	for _, c := range []struct{ name, want string }{
		{"protoc", wantProtoc}, {"protoc-gen-go", wantProtocGenGo}, {"protoc-gen-go-grpc", wantProtocGenGRPC},
	} {
		p := toolPath(t, c.name, gobin)
		if v := toolVersion(t, p); !strings.Contains(v, c.want) {
			t.Fatalf("%s reports %q, want %s: install the versions listed in api/generate.sh", p, v, c.want)
		}
		tools[c.name] = p
	}

	out := t.TempDir()
	cmd := exec.Command("bash", "generate.sh", out)
	path := []string{filepath.Dir(tools["protoc"]), filepath.Dir(tools["protoc-gen-go"]),
		filepath.Dir(tools["protoc-gen-go-grpc"]), os.Getenv("PATH")}
	cmd.Env = append(os.Environ(), "PATH="+strings.Join(path, string(os.PathListSeparator)))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate.sh: %v\n%s", err, b)
	}
	for _, name := range generated {
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("reading committed %s: %v", name, err)
		}
		fresh, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatalf("generate.sh did not produce %s: %v", name, err)
		}
		if !bytes.Equal(committed, fresh) {
			t.Errorf("api/%s is stale: run api/generate.sh (first difference: %s)", name, firstDiff(committed, fresh))
		}
	}
}

// toolPath finds a code generator on PATH or in the Go bin directory, where `go install` puts it.
func toolPath(t *testing.T, name, gobin string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join(gobin, name); isFile(p) {
		return p
	}
	t.Fatalf("%s not found on PATH or in %s: install the code generators listed in api/generate.sh "+
		"(apt-get install -y protobuf-compiler; go install google.golang.org/protobuf/cmd/protoc-gen-go@%s; "+
		"go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v%s) or run scripts/test.sh, which does",
		name, gobin, wantProtocGenGo, wantProtocGenGRPC)
	return ""
}

func isFile(p string) bool {
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
	if gobin := strings.TrimSpace(lines[0]); gobin != "" && len(lines) > 1 {
		return gobin
	}
	gopath := strings.TrimSpace(lines[len(lines)-1])
	return filepath.Join(filepath.SplitList(gopath)[0], "bin")
}

func toolVersion(t *testing.T, tool string) string {
	t.Helper()
	out, err := exec.Command(tool, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", tool, err, out)
	}
	return strings.TrimSpace(string(out))
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
