// Architecture rules of DESIGN.md §2, checked from `go list` so the layout cannot drift silently.
package chronik_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/chronik-stream/chronik"

type listedPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Standard,Imports,Deps", "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// rel is a package path relative to the module ("" for packages outside it).
func rel(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r, true
	}
	return "", false
}

func under(r, dir string) bool { return r == dir || strings.HasPrefix(r, dir+"/") }

// isStd reports whether an import path belongs to the standard library (no dot in its first element).
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t) {
		r, ours := rel(p.ImportPath)
		if !ours {
			continue
		}
		for _, d := range p.Deps {
			dr, depOurs := rel(d)
			switch {
			case under(r, "walcodec") && !isStd(d) && !strings.HasPrefix(d, "vendor/"):
				t.Errorf("%s depends on %s: walcodec may use the standard library only", r, d)
			case depOurs && under(dr, "cmd"):
				t.Errorf("%s depends on %s: nothing imports cmd/", r, dr)
			case depOurs && under(r, "broker") && (under(dr, "tui") || under(dr, "raftstore")):
				t.Errorf("%s depends on %s: broker never imports tui or raftstore (cmd wires them)", r, dr)
			case depOurs && under(r, "raftstore") && under(dr, "tui"):
				t.Errorf("%s depends on %s: raftstore never imports tui", r, dr)
			case depOurs && under(r, "api") && !under(dr, "api"):
				t.Errorf("%s depends on %s: api/ holds generated code only", r, dr)
			case depOurs && under(r, "tui") && !under(dr, "api") && !under(dr, "tui"):
				t.Errorf("%s depends on %s: tui talks to the cluster only through api/", r, dr)
			}
		}
		if under(r, "tui") {
			for _, imp := range p.Imports {
				if isStd(imp) {
					continue
				}
				if _, ok := rel(imp); ok {
					continue // checked above
				}
				allowed := strings.HasPrefix(imp, "github.com/charmbracelet/") ||
					strings.HasPrefix(imp, "google.golang.org/grpc") ||
					strings.HasPrefix(imp, "google.golang.org/protobuf") ||
					strings.HasPrefix(imp, "github.com/muesli/termenv")
				if !allowed {
					t.Errorf("%s imports %s: tui uses only api/, gRPC and the charm libraries", r, imp)
				}
			}
		}
	}
}
