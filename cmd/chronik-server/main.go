// Command chronik-server runs a Chronik Stream broker node and its offline
// operator tools (WAL migration, backup, debugging).
package main

import (
	"context"
	"os"
)

func main() {
	// Cobra prints the error ("Error: ...") to stderr; the exit code says it failed.
	if err := newRootCmd().ExecuteContext(context.Background()); err != nil {
		os.Exit(1)
	}
}
