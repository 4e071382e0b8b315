package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	t.Setenv("CHRONIK_ADMIN_TOKEN", "from-env")
	t.Setenv("XDG_STATE_HOME", "/state")
	wf := "/state/chronik-tui/workflows.json"
	for _, tt := range []struct {
		args []string
		want flags
		err  string
	}{
		{args: nil, want: flags{connect: "127.0.0.1:9093", token: "from-env", workflow: wf}},
		{args: []string{"--connect", "node1:9093", "--token", "T", "--read-only", "--log-file", "/tmp/f", "--workflow-file", ""},
			want: flags{connect: "node1:9093", token: "T", readOnly: true, logFile: "/tmp/f"}},
		{args: []string{"--version"}, want: flags{connect: "127.0.0.1:9093", token: "from-env", workflow: wf, version: true}},
		{args: []string{"extra"}, err: "unexpected arguments"},
		{args: []string{"--nope"}, err: "flag provided but not defined"},
	} {
		var stderr bytes.Buffer
		got, err := parseFlags(tt.args, &stderr)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"--version"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "chronik-tui v2.0.0") {
		t.Fatalf("--version: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := run([]string{"--help"}, &out, &errb); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errb.String(), "--connect HOST:9093") {
		t.Fatalf("--help: %v, %q", err, errb.String())
	}
}
