// Package httpapi is chronik-server's HTTP surface on port 8080:
//
//	GET /health                 200 {"status":"healthy","cluster_size":1,"is_leader":true}
//	                            503 {"status":"unhealthy",...,"reason":"..."}
//	GET /metrics                Prometheus text exposition of the injected Gatherer
//	GET /admin/cluster/members  [{"node_id":1,"addr":"node1.internal:9093","state":"leader"}, ...]
//	GET /admin/cluster/leader   {"node_id":1,"addr":"node1.internal:9093"} (503 when there is none)
//
// Further /admin endpoints are added with Server.RegisterAdmin. Mutating
// endpoints require the admin token (Config.AdminToken) in
// "Authorization: Bearer <token>" or "X-Admin-Token: <token>"; without a
// configured token they are refused. Every error, including 404 and 405, is a
// JSON body {"error":"..."}.
//
// NewBrokerCollector exports the broker's state gauges (high watermarks,
// cluster size, WAL disk usage, consumer groups by state) for the registry
// /metrics serves.
package httpapi
