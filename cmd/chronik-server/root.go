package main

import "github.com/spf13/cobra"

// newRootCmd builds the chronik-server command tree.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "chronik-server",
		Short: "Chronik Stream: a Kafka-compatible streaming broker with Raft clustering",
		// `chronik-server --version` prints the same line as `chronik-server version`.
		Version: displayVersion(),
	}
	root.SetVersionTemplate(versionLine() + "\n")
	root.AddCommand(newVersionCmd(), newStartCmd(), newClusterCmd()) // cluster.go: Raft mode
	addDebugCmds(root)
	addMigrationCmds(root) // migrate.go: migrate-wal, backup, restore
	return root
}
