package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/chronik-stream/chronik/broker/node"
	"github.com/chronik-stream/chronik/broker/walmigrate"
)

// addMigrationCmds adds the upgrade tools: migrate-wal, backup, restore and
// the hidden benchmark generator `debug gen-v2`.
func addMigrationCmds(root *cobra.Command) {
	root.AddCommand(newMigrateWALCmd(), newBackupCmd(), newRestoreCmd())
	for _, c := range root.Commands() {
		if c.Name() == "debug" {
			c.AddCommand(newGenV2Cmd())
		}
	}
}

func newMigrateWALCmd() *cobra.Command {
	opt := walmigrate.Options{}
	cmd := &cobra.Command{
		Use:   "migrate-wal --input DIR --output DIR [--workers N] [--skip-errors]",
		Short: "Convert a v1.x (V2) WAL directory to V3 offline; the input is never modified",
		Long: "Convert every WAL segment under --input (wal_*.log, recursively: the metadata log in __meta and\n" +
			"every <topic>/<partition>) to the V3 record format in --output, keeping the layout and copying\n" +
			"other files (log-start-offset checkpoints) verbatim. Each V2 record becomes a V3 record with\n" +
			"raft_metadata None; Kafka batches stay byte-identical. Every input record's checksum is verified,\n" +
			"and every segment is verified from the exact bytes written (record checksums, Kafka batch CRCs,\n" +
			"offsets), fsynced and size-checked before it counts as done.\n\n" +
			"--output must be new or empty. A run that is killed or fails leaves a resume marker\n" +
			"(" + walmigrate.StateFileName + ") there: rerun the same command to finish the job.\n" +
			"A damaged segment stops the migration (\"InvalidChecksum at offset N\" and its path) unless\n" +
			"--skip-errors, which keeps each damaged segment's good prefix, drops the rest and counts it.\n" +
			"A torn final record of a partition's last segment is dropped with a warning.",
		Example: "  chronik-server migrate-wal \\\n" +
			"    --input /var/lib/chronik/data/wal \\\n" +
			"    --output /var/lib/chronik/data/wal-v3 \\\n" +
			"    --workers 4",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			release, err := lockInputDataDir(opt.Input)
			if err != nil {
				return err
			}
			defer release()
			opt.Out = cmd.OutOrStdout()
			_, err = walmigrate.Migrate(ctx, opt)
			if err == nil {
				return nil
			}
			cmd.SilenceErrors = true // the [ERROR] lines say it all
			errOut := cmd.ErrOrStderr()
			fmt.Fprintf(errOut, "[ERROR] WAL migration failed: %v\n", err)
			var damage *walmigrate.DamageError
			switch {
			case errors.As(err, &damage):
				fmt.Fprintf(errOut, "[ERROR] Find every damaged segment with: chronik-server debug wal-verify --path %s\n", opt.Input)
				fmt.Fprintf(errOut, "[ERROR] Then restore the segment from a backup, or rerun with --skip-errors to keep the good prefix of each damaged segment (the rest is lost)\n")
			case ctx.Err() != nil && errors.Is(err, ctx.Err()):
				fmt.Fprintf(errOut, "[ERROR] Interrupted: rerun the same command to resume\n")
			}
			return err
		},
	}
	cmd.Flags().StringVar(&opt.Input, "input", "", "WAL directory to read (e.g. /var/lib/chronik/data/wal)")
	cmd.Flags().StringVar(&opt.Output, "output", "", "new or empty directory for the V3 WAL (e.g. /var/lib/chronik/data/wal-v3)")
	cmd.Flags().IntVar(&opt.Workers, "workers", runtime.GOMAXPROCS(0), "segments converted in parallel")
	cmd.Flags().BoolVar(&opt.SkipErrors, "skip-errors", false, "keep the good prefix of damaged segments and carry on (data loss), counting the errors")
	_ = cmd.MarkFlagRequired("input")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// lockInputDataDir refuses a WAL directory whose data directory a running
// broker holds (<input>/../.lock) and holds that lock while migrating. An
// input that is not inside a broker data directory is not locked.
func lockInputDataDir(input string) (release func(), err error) {
	dataDir := filepath.Dir(filepath.Clean(input))
	if _, err := os.Stat(filepath.Join(dataDir, node.LockFileName)); err != nil {
		return func() {}, nil
	}
	l, err := node.LockDataDir(dataDir)
	if errors.Is(err, node.ErrDataDirInUse) {
		return nil, fmt.Errorf("data dir %s is in use by a running broker: stop it before migrating %s", dataDir, input)
	}
	if err != nil {
		return nil, err
	}
	return func() { _ = l.Release() }, nil
}

// v2OnlyRefusal is what `debug wal-verify --v2-only` says about a V3 record:
// a v1.x broker could not read this data directory.
func v2OnlyRefusal(path string, offset int64) string {
	return fmt.Sprintf("WAL3 record at %s offset %d: written by v2.x, this build reads only V2; "+
		"to roll back to v1.x restore the backup taken before the upgrade (see docs/migration.md)", path, offset)
}
