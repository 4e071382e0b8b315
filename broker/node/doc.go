// Package node assembles one running broker from the broker packages: partition logs
// (storage), the metadata log (meta), the group coordinator (groups), the Kafka protocol
// server (kafka) and the HTTP server (httpapi). It owns their listeners and lifecycles:
// Start opens everything and serves; Shutdown stops accepting, lets in-flight requests
// finish, fsyncs and closes, in that order.
//
// cmd/chronik-server parses configuration and calls Start; tests call it in-process.
package node
