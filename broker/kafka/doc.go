// Package kafka serves the Apache Kafka wire protocol for Chronik.
//
// Contract (see CONTRACTS.md, "broker/kafka"):
//
//   - NewServer(cfg, deps, logger, reg) builds a Server; Serve(ctx, ln) accepts connections until
//     ctx is done (or Close is called), then stops reading, lets in-flight requests finish for a
//     bounded time and closes every connection.
//   - Each connection has one reader goroutine (4-byte size-prefixed frames, validated against
//     Config.MaxRequestBytes before any allocation), request handlers running concurrently (at most
//     Config.MaxInFlightPerConn per connection) and one writer goroutine that writes responses
//     strictly in request order. acks=0 Produce gets no response. Requests that mutate state in an
//     order-sensitive way are chained per connection (all Produce requests; topic administration and
//     Metadata; offset commits/fetches) so pipelining clients observe Kafka's per-connection
//     ordering, while Fetch long-polls, group joins and reads run concurrently.
//   - Every wire encoding goes through github.com/twmb/franz-go/pkg/kmsg; record batches are never
//     re-encoded: Produce hands the producer's bytes to storage and Fetch returns the stored bytes.
//   - Only the API versions in the table of dispatch.go are advertised by ApiVersions, and only
//     those are served. An ApiVersions request above our maximum gets the KIP-511 answer (v0 body,
//     UNSUPPORTED_VERSION, our ranges); any other unknown key or version closes the connection, as
//     Kafka does. A malformed body closes that connection only.
//   - Dependencies are injected through the interfaces of deps.go, satisfied by *storage.Manager
//     (+ *storage.Log), *meta.Store and *groups.Coordinator. Topic creation, deletion, partition
//     growth and config changes go through the topic manager of topics.go, which keeps meta and the
//     partition logs in step.
//
// One file per Kafka API (produce.go, fetch.go, …), each headed by the versions it serves.
package kafka
