package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// version is the release version without a leading "v". Release builds set it
// with -ldflags "-X main.version=2.0.1"; it is never changed at run time.
var version = "2.0.0"

// displayVersion is version with exactly one leading "v".
func displayVersion() string { return "v" + strings.TrimPrefix(version, "v") }

// versionLine is what `chronik-server version` prints.
func versionLine() string {
	return "Chronik Stream " + displayVersion() + " (features: raft, clustering)"
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the compiled-in features",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}
