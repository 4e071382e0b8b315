package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

// Build information. Release builds set them with -ldflags
// "-X main.version=2.0.1 -X main.commit=<sha> -X main.date=<RFC 3339>"
// (.goreleaser.yaml); they are never changed at run time.
var (
	version = "2.0.0" // release version without a leading "v"
	commit  = "none"  // git commit the binary was built from
	date    = "unknown"
)

// displayVersion is version with exactly one leading "v".
func displayVersion() string { return "v" + strings.TrimPrefix(version, "v") }

// versionLine is what `chronik-server version` prints.
func versionLine() string {
	return "Chronik Stream " + displayVersion() + " (features: raft, clustering)"
}

func newVersionCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version and the compiled-in features",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := versionLine() + "\n"
			if verbose {
				out += fmt.Sprintf("commit: %s\nbuilt: %s\ngo: %s %s/%s\n", commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			}
			_, err := fmt.Fprint(cmd.OutOrStdout(), out)
			return err
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "also print the git commit, build date, Go version and platform")
	return cmd
}
