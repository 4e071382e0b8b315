package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/chronik-stream/chronik/broker/config"
	"github.com/chronik-stream/chronik/broker/node"
	"github.com/chronik-stream/chronik/raftstore"
)

// newStartCmd is `chronik-server start` (alias `standalone`): one node, no Raft.
func newStartCmd() *cobra.Command {
	cf := &configFlags{}
	cmd := &cobra.Command{
		Use:     "start",
		Aliases: []string{"standalone"},
		Short:   "Run a standalone broker (Kafka on 9092, HTTP on 8080)",
		Long: "Run a single-node broker without Raft, the v1 mode (or, when the configuration sets\n" +
			"cluster.enabled = true, a cluster node as `chronik-server cluster` does). Configuration comes from\n" +
			"--config (default /etc/chronik/chronik.toml when it exists), then CHRONIK_* environment\n" +
			"variables, then flags; every config key has a flag.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true // flags parsed: from here on errors are not usage errors
			cfg, err := cf.load(cmd)
			if err != nil {
				return err
			}
			if cfg.Cluster.Enabled {
				// The config file decides: a [cluster] section with enabled = true (the guide's
				// v2 config under the packaged systemd unit) runs this node in Raft mode.
				return runCluster(cmd.Context(), cfg, clusterFlags{dataGroups: raftstore.DefaultDataGroups}, cmd.ErrOrStderr())
			}
			return runNode(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	cf.register(cmd)
	return cmd
}

// configFlags registers --config and one flag per config key.
type configFlags struct {
	path string
}

func (cf *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&cf.path, "config", "", "TOML config file (default "+config.DefaultPath+" if it exists)")
	for _, k := range config.Keys() {
		cmd.Flags().String(k.FlagName, k.Default, fmt.Sprintf("%s (config key %s, env %s)", k.Doc, k.Key, k.Env))
	}
}

// load builds the configuration: defaults < file < env < flags given on the command line.
func (cf *configFlags) load(cmd *cobra.Command) (config.Config, error) {
	cfg, err := config.Load(cf.path, os.Environ())
	if err != nil {
		return config.Config{}, err
	}
	for _, k := range config.Keys() {
		f := cmd.Flags().Lookup(k.FlagName)
		if f == nil || !f.Changed {
			continue
		}
		if err := cfg.Set(k.Key, f.Value.String()); err != nil {
			return config.Config{}, fmt.Errorf("flag %s: %w", k.Flag, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// newLogger writes structured text logs at the configured level.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// runNode starts a standalone node and serves until SIGINT or SIGTERM.
func runNode(ctx context.Context, cfg config.Config, logw io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	logger := newLogger(logw, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := node.Start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	<-n.Done()
	return n.Err()
}
