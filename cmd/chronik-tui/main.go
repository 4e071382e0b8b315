// Command chronik-tui is the Chronik console: a terminal UI that watches a node or cluster
// through the console API (gRPC on the node port, 9093 by default) and drives the migration
// workflows.
//
//	chronik-tui --connect node1:9093 [--token T] [--read-only] [--log-file F] [--workflow-file F]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/chronik-stream/chronik/api/consolepb"
	"github.com/chronik-stream/chronik/tui"
)

// version is set by release builds (-ldflags "-X main.version=2.0.1").
var version = "2.0.0"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "chronik-tui:", err)
		}
		os.Exit(2)
	}
}

type flags struct {
	connect  string
	token    string
	readOnly bool
	logFile  string
	workflow string
	version  bool
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("chronik-tui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.connect, "connect", "127.0.0.1:9093", "console API address of a node (its cluster.node_addr, host:port)")
	fs.StringVar(&f.token, "token", "", "admin token for mutating steps (default $CHRONIK_ADMIN_TOKEN)")
	fs.BoolVar(&f.readOnly, "read-only", false, "never send a mutating call (watch only)")
	fs.StringVar(&f.logFile, "log-file", "", "write a debug log to this file")
	fs.StringVar(&f.workflow, "workflow-file", tui.DefaultWorkflowFile(),
		"where workflow progress is kept, so a workflow resumes after a restart (\"\" = not kept)")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: chronik-tui --connect HOST:9093 [--token T] [--read-only] [--log-file F] [--workflow-file F]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.token == "" {
		f.token = os.Getenv("CHRONIK_ADMIN_TOKEN")
	}
	return f, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if f.version {
		_, err := fmt.Fprintf(stdout, "chronik-tui v%s (console API chronik.console.v1)%s\n", version, vcsSuffix())
		return err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if f.logFile != "" {
		lf, err := os.OpenFile(f.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("--log-file: %w", err)
		}
		defer lf.Close()
		logger = slog.New(slog.NewTextHandler(lf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	conn, err := tui.Dial(f.connect)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := tui.NewClient(consolepb.NewConsoleServiceClient(conn), f.token, f.readOnly)
	logger.Info("chronik-tui starting", "connect", f.connect, "read_only", f.readOnly, "token", f.token != "")
	m := tui.New(tui.Options{Addr: f.connect, Client: client, Logger: logger, WorkflowFile: f.workflow})
	final, err := tea.NewProgram(m, tea.WithAltScreen()).Run()
	if fm, ok := final.(tui.Model); ok {
		fm.Close()
	} else {
		m.Close()
	}
	if err != nil {
		return fmt.Errorf("terminal UI: %w", err)
	}
	logger.Info("chronik-tui exiting")
	return nil
}

func vcsSuffix() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return " commit " + s.Value[:12]
		}
	}
	return ""
}
