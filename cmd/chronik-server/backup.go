package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chronik-stream/chronik/broker/backup"
	"github.com/chronik-stream/chronik/broker/config"
	"github.com/chronik-stream/chronik/broker/httpapi"
	"github.com/chronik-stream/chronik/broker/node"
)

func newBackupCmd() *cobra.Command {
	var output, dataDir, cfgPath, from, token string
	cmd := &cobra.Command{
		Use:   "backup --output FILE.tar.gz [--data-dir DIR | --from http://HOST:8080]",
		Short: "Back up a stopped data dir, or a running node through its admin API",
		Long: "Write a consistent backup of a broker's data to a tar.gz archive: wal/ as in the data directory\n" +
			"(paths relative to it, like `tar -C <data_dir> -czf FILE wal`) plus manifest.json with the topics,\n" +
			"each partition's high watermark and log start offset, committed group offsets and the SHA-256 of\n" +
			"every file. Every WAL record checksum is verified while backing up.\n\n" +
			"Without --from the data directory (--data-dir, else data_dir from --config / CHRONIK_DATA_DIR)\n" +
			"must not be in use by a running broker. With --from the running node streams a consistent cut\n" +
			"of all its logs (GET /admin/backup, admin token from --token or admin_token / CHRONIK_ADMIN_TOKEN);\n" +
			"the archive is verified against its manifest before it is kept.",
		Example: "  chronik-server backup --output chronik-backup-$(date +%Y%m%d).tar.gz --data-dir /var/lib/chronik/data\n" +
			"  chronik-server backup --output blue-backup.tar.gz --from http://blue-1:8080 --token \"$ADMIN_TOKEN\"",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			if _, err := os.Stat(output); err == nil {
				return fmt.Errorf("backup: %s already exists: choose another file name", output)
			}
			var m *backup.Manifest
			var err error
			if from != "" {
				if token == "" {
					cfg, cerr := config.Load(cfgPath, os.Environ())
					if cerr != nil {
						return cerr
					}
					token = cfg.AdminToken
				}
				m, err = backupFromNode(cmd.Context(), from, token, output)
			} else {
				if dataDir, err = resolveDataDir(dataDir, cfgPath); err != nil {
					return err
				}
				m, err = backupDataDir(cmd.Context(), dataDir, output)
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Backup written to %s: %d topics, %d partitions, %d consumer groups, %d files, %d bytes (wal format %d, %s)\n",
				output, len(m.Topics), len(m.Partitions), len(m.Groups), len(m.Files), m.Bytes(), m.WALFormat, m.Source)
			for _, w := range m.Warnings {
				fmt.Fprintf(out, "warning: %s\n", w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&output, "output", "", "archive to write (.tar.gz); must not exist")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory of a stopped broker (default: data_dir of the configuration)")
	cmd.Flags().StringVar(&cfgPath, "config", "", "TOML config file for data_dir / admin_token (default "+config.DefaultPath+" if it exists)")
	cmd.Flags().StringVar(&from, "from", "", "back up a running node through its HTTP admin API, e.g. http://node1:8080")
	cmd.Flags().StringVar(&token, "token", "", "admin token for --from (default: admin_token / CHRONIK_ADMIN_TOKEN)")
	_ = cmd.MarkFlagRequired("output")
	cmd.MarkFlagsMutuallyExclusive("from", "data-dir")
	return cmd
}

func newRestoreCmd() *cobra.Command {
	var input, dataDir, cfgPath string
	cmd := &cobra.Command{
		Use:   "restore --input FILE.tar.gz [--data-dir DIR]",
		Short: "Restore a backup into an empty or new data directory",
		Long: "Extract a backup archive into a data directory that is empty or does not exist (a non-empty one\n" +
			"is refused). Everything is extracted next to it first (DIR.tmp-XXXX), every file is checked\n" +
			"against the manifest (size and SHA-256; archives without a manifest, like a manual tar of the\n" +
			"wal directory, get their WAL record checksums verified), and only then renamed into place.\n" +
			"--data-dir defaults to data_dir of the configuration (--config, CHRONIK_DATA_DIR).",
		Example: "  chronik-server restore --input blue-backup.tar.gz --data-dir /var/lib/chronik/data",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			dir, err := resolveDataDir(dataDir, cfgPath)
			if err != nil {
				return err
			}
			f, err := os.Open(input)
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			defer f.Close()
			sum, err := backup.Restore(cmd.Context(), f, dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Restored %s into %s: %d topics, %d partitions, %d consumer groups, %d files, %d bytes\n",
				input, dir, sum.Topics, sum.Partitions, sum.Groups, sum.Files, sum.Bytes)
			if m := sum.Manifest; m != nil {
				fmt.Fprintf(out, "Backup taken %s by chronik %s (wal format %d) from %s\n", m.CreatedAt.Format("2006-01-02 15:04:05 MST"), m.ChronikVersion, m.WALFormat, m.Source)
				for _, p := range m.Partitions {
					fmt.Fprintf(out, "  %s/%d: offsets %d..%d\n", p.Topic, p.Partition, p.LogStartOffset, p.HighWatermark)
				}
			}
			for _, s := range sum.Skipped {
				fmt.Fprintf(out, "not restored (outside wal/): %s\n", s)
			}
			for _, w := range sum.Warnings {
				fmt.Fprintf(out, "warning: %s\n", w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "backup archive (.tar.gz)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "empty or new data directory (default: data_dir of the configuration)")
	cmd.Flags().StringVar(&cfgPath, "config", "", "TOML config file for data_dir (default "+config.DefaultPath+" if it exists)")
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

// resolveDataDir is flagValue, else data_dir from the configuration.
func resolveDataDir(flagValue, cfgPath string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	cfg, err := config.Load(cfgPath, os.Environ())
	if err != nil {
		return "", err
	}
	return cfg.DataDir, nil
}

// backupDataDir backs up a stopped data directory, holding its lock.
func backupDataDir(ctx context.Context, dataDir, output string) (*backup.Manifest, error) {
	if _, err := os.Stat(filepath.Join(dataDir, "wal")); err != nil {
		return nil, fmt.Errorf("backup: %s is not a data directory: %w", dataDir, err)
	}
	lock, err := node.LockDataDir(dataDir)
	if errors.Is(err, node.ErrDataDirInUse) {
		return nil, fmt.Errorf("data dir %s is in use by a running broker: use --from http://host:8080", dataDir)
	}
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	src, err := backup.FromDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var m *backup.Manifest
	err = writeAtomically(output, func(w io.Writer) error {
		var err error
		m, err = backup.Write(ctx, w, src, backup.Options{ChronikVersion: displayVersion()})
		return err
	})
	return m, err
}

// backupFromNode downloads GET <from>/admin/backup and verifies it before
// keeping it.
func backupFromNode(ctx context.Context, from, token, output string) (*backup.Manifest, error) {
	if !strings.Contains(from, "://") {
		from = "http://" + from
	}
	url := strings.TrimRight(from, "/") + "/admin/backup"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("backup from %s: %w", from, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("backup from %s: %w", from, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e httpapi.ErrorBody
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		return nil, fmt.Errorf("backup from %s: %s: %s", url, resp.Status, e.Error)
	}
	var m *backup.Manifest
	err = writeAtomically(output, func(w io.Writer) error {
		if _, err := io.Copy(w, resp.Body); err != nil {
			return fmt.Errorf("backup from %s: download interrupted: %w", url, err)
		}
		return nil
	}, func(path string) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		m, err = backup.Verify(ctx, f)
		if err != nil {
			return fmt.Errorf("backup from %s: the downloaded archive is not valid: %w", url, err)
		}
		return nil
	})
	return m, err
}

// writeAtomically writes output through a temporary file in its directory:
// write, fsync, run the checks on the temporary file, rename. The archive
// is created with mode 0600: it holds every message of the broker.
func writeAtomically(output string, write func(io.Writer) error, checks ...func(path string) error) (err error) {
	dir := filepath.Dir(output)
	tmp, err := os.CreateTemp(dir, filepath.Base(output)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("backup: fsync %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	for _, check := range checks {
		if err = check(tmp.Name()); err != nil {
			return err
		}
	}
	if err = os.Rename(tmp.Name(), output); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
