package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite the generated reference in docs/configuration.md")

const (
	docsBegin = "<!-- BEGIN GENERATED -->"
	docsEnd   = "<!-- END GENERATED -->"
	docsPath  = "../../docs/configuration.md" // from this package's directory
)

// TestConfigurationDocsInSync fails when the key reference in
// docs/configuration.md differs from MarkdownReference(). Regenerate it with
//
//	go test ./broker/config -run TestConfigurationDocsInSync -update
func TestConfigurationDocsInSync(t *testing.T) {
	raw, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	before, rest, ok := strings.Cut(doc, docsBegin+"\n")
	if !ok {
		t.Fatalf("%s: no %q line", docsPath, docsBegin)
	}
	current, after, ok := strings.Cut(rest, docsEnd)
	if !ok {
		t.Fatalf("%s: no %q after %q", docsPath, docsEnd, docsBegin)
	}
	want := MarkdownReference()
	if current == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(docsPath, []byte(before+docsBegin+"\n"+want+docsEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the generated reference in %s", docsPath)
		return
	}
	t.Errorf("%s is out of date with config.Keys(); regenerate it with\n"+
		"  go test ./broker/config -run TestConfigurationDocsInSync -update\n--- in the file:\n%s--- generated:\n%s",
		docsPath, current, want)
}
