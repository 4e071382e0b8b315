// Package groups is Chronik's classic (pre-KIP-848) consumer-group coordinator.
//
// A Coordinator implements the group APIs of the Kafka protocol on decoded kmsg requests:
// JoinGroup 0–5, SyncGroup 0–3, Heartbeat 0–3, LeaveGroup 0–3, OffsetCommit 0–7,
// OffsetFetch 0–7, ListGroups 0–4, DescribeGroups 0–4, DeleteGroups 0–1 and OffsetDelete 0.
// Every method returns a response whose Version equals the request's. JoinGroup and SyncGroup
// block until the rebalance step they wait for completes, the request context ends or the
// coordinator is closed. Coordinator routing (NOT_COORDINATOR) is the caller's job: the
// coordinator assumes it owns every group it is asked about.
//
// Group state machine (as in Kafka's GroupCoordinator):
//
//	Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
//	CompletingRebalance ──leader SyncGroup──▶ Stable ──join/leave/expiry──▶ PreparingRebalance
//	PreparingRebalance ──no member left──▶ Empty;  Empty ──DeleteGroups──▶ Dead
//
// Each group is guarded by its own mutex; the coordinator's map of groups by another (never
// held while a group mutex is acquired). Session, rebalance, pending-member and pending-sync
// deadlines live in one timer heap served by Run, which is the only goroutine the package
// needs; Close stops it and releases every blocked JoinGroup/SyncGroup with NOT_COORDINATOR.
//
// Durability: offsets are written with Store.CommitOffsets before OffsetCommit answers; the
// group (generation, protocol, leader, members with assignments) is written with
// Store.PutGroup when it becomes Stable or Empty. NewCoordinator reloads Store.Groups():
// groups with members come back Stable at their generation with fresh session deadlines
// (members that do not heartbeat expire and the group rebalances), the others come back Empty,
// including commit-only groups, which ListGroups and DescribeGroups show as Empty.
//
// The Kafka layer passes the request's client id and the peer address with WithClientInfo;
// they are reported by DescribeGroups and used as member-id prefixes.
package groups
