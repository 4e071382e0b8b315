// Package consolepb is the Go code generated from api/console.proto: the messages and the
// gRPC client and server of chronik.console.v1.ConsoleService. Do not edit the generated files;
// change console.proto and run api/generate.sh.
package consolepb
