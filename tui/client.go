package tui

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// ErrReadOnly is returned for every mutating call in read-only mode.
var ErrReadOnly = errors.New("read-only mode: the console does not send mutating calls (restart without --read-only)")

// Dial makes a (lazy) client connection to a node's console API.
func Dial(addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("console API at %s: %w", addr, err)
	}
	return conn, nil
}

// Client wraps the generated client: it attaches the admin token to every call and refuses
// mutating calls in read-only mode. It is the console's only way to the cluster.
type Client struct {
	rpc      consolepb.ConsoleServiceClient
	token    string
	readOnly bool
}

// NewClient wraps rpc; token "" sends no authorization metadata.
func NewClient(rpc consolepb.ConsoleServiceClient, token string, readOnly bool) *Client {
	return &Client{rpc: rpc, token: token, readOnly: readOnly}
}

// ReadOnly reports whether mutating calls are refused.
func (c *Client) ReadOnly() bool { return c.readOnly }

// HasToken reports whether an admin token is configured.
func (c *Client) HasToken() bool { return c.token != "" }

// mutating is the read-only guard: the first call of every mutating method.
func (c *Client) mutating(ctx context.Context, rpc string) (context.Context, error) {
	if c.readOnly {
		return ctx, fmt.Errorf("%s: %w", rpc, ErrReadOnly)
	}
	return c.auth(ctx), nil
}

func (c *Client) auth(ctx context.Context) context.Context {
	if c.token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
}

// Watch opens the cluster state stream.
func (c *Client) Watch(ctx context.Context) (grpc.ServerStreamingClient[consolepb.ClusterState], error) {
	return c.rpc.WatchCluster(c.auth(ctx), &consolepb.WatchRequest{})
}

func (c *Client) NodeStatus(ctx context.Context) (*consolepb.NodeStatusResponse, error) {
	return c.rpc.NodeStatus(c.auth(ctx), &consolepb.NodeStatusRequest{})
}

func (c *Client) Preflight(ctx context.Context, path consolepb.MigrationPath) (*consolepb.PreflightResponse, error) {
	return c.rpc.Preflight(c.auth(ctx), &consolepb.PreflightRequest{Path: path})
}

func (c *Client) MigrationProgress(ctx context.Context) (*consolepb.MigrationProgressResponse, error) {
	return c.rpc.MigrationProgress(c.auth(ctx), &consolepb.MigrationProgressRequest{})
}

// RunValidation is read-only; with a token the server also runs the produce/consume check.
func (c *Client) RunValidation(ctx context.Context, req *consolepb.RunValidationRequest) (*consolepb.RunValidationResponse, error) {
	if c.readOnly && (req.GetProduceConsumeTopic() != "" || req.GetFailoverTest()) {
		return nil, fmt.Errorf("RunValidation with a produce/consume topic or a failover test: %w", ErrReadOnly)
	}
	return c.rpc.RunValidation(c.auth(ctx), req)
}

func (c *Client) MirrorStatus(ctx context.Context) (*consolepb.MirrorStatusResponse, error) {
	return c.rpc.MirrorStatus(c.auth(ctx), &consolepb.MirrorStatusRequest{})
}

func (c *Client) SetHighWatermark(ctx context.Context, topic string, partition int32, offset int64) (*consolepb.SetHighWatermarkResponse, error) {
	ctx, err := c.mutating(ctx, "SetHighWatermark")
	if err != nil {
		return nil, err
	}
	return c.rpc.SetHighWatermark(ctx, &consolepb.SetHighWatermarkRequest{Topic: topic, Partition: partition, Offset: offset})
}

func (c *Client) StartWalMigration(ctx context.Context, req *consolepb.StartWalMigrationRequest) (*consolepb.StartWalMigrationResponse, error) {
	ctx, err := c.mutating(ctx, "StartWalMigration")
	if err != nil {
		return nil, err
	}
	return c.rpc.StartWalMigration(ctx, req)
}

// Backup runs a backup to path on the node, calling progress for each message, and returns the
// final one.
func (c *Client) Backup(ctx context.Context, path string, progress func(*consolepb.BackupProgress)) (*consolepb.BackupProgress, error) {
	ctx, err := c.mutating(ctx, "Backup")
	if err != nil {
		return nil, err
	}
	s, err := c.rpc.Backup(ctx, &consolepb.BackupRequest{OutputPath: path})
	if err != nil {
		return nil, err
	}
	var last *consolepb.BackupProgress
	for {
		p, err := s.Recv()
		if errors.Is(err, io.EOF) {
			if last == nil || !last.GetDone() {
				return last, fmt.Errorf("backup stream ended before the backup was complete")
			}
			return last, nil
		}
		if err != nil {
			return last, err
		}
		last = p
		if progress != nil {
			progress(p)
		}
	}
}

func (c *Client) TransferLeadership(ctx context.Context, target uint64) (*consolepb.TransferLeadershipResponse, error) {
	ctx, err := c.mutating(ctx, "TransferLeadership")
	if err != nil {
		return nil, err
	}
	return c.rpc.TransferLeadership(ctx, &consolepb.TransferLeadershipRequest{TargetNodeId: target})
}

func (c *Client) AddNode(ctx context.Context, id uint64, addr string) (*consolepb.AddNodeResponse, error) {
	ctx, err := c.mutating(ctx, "AddNode")
	if err != nil {
		return nil, err
	}
	return c.rpc.AddNode(ctx, &consolepb.AddNodeRequest{NodeId: id, Address: addr})
}

func (c *Client) RemoveNode(ctx context.Context, id uint64) (*consolepb.RemoveNodeResponse, error) {
	ctx, err := c.mutating(ctx, "RemoveNode")
	if err != nil {
		return nil, err
	}
	return c.rpc.RemoveNode(ctx, &consolepb.RemoveNodeRequest{NodeId: id})
}

func (c *Client) MirrorStart(ctx context.Context, source, topicRegex string) (*consolepb.MirrorStartResponse, error) {
	ctx, err := c.mutating(ctx, "MirrorStart")
	if err != nil {
		return nil, err
	}
	return c.rpc.MirrorStart(ctx, &consolepb.MirrorStartRequest{SourceBootstrap: source, TopicRegex: topicRegex})
}

func (c *Client) MirrorStop(ctx context.Context, id string) (*consolepb.MirrorStopResponse, error) {
	ctx, err := c.mutating(ctx, "MirrorStop")
	if err != nil {
		return nil, err
	}
	return c.rpc.MirrorStop(ctx, &consolepb.MirrorStopRequest{MirrorId: id})
}

func (c *Client) MeasureProduce(ctx context.Context, req *consolepb.MeasureProduceRequest) (*consolepb.MeasureProduceResponse, error) {
	ctx, err := c.mutating(ctx, "MeasureProduce")
	if err != nil {
		return nil, err
	}
	return c.rpc.MeasureProduce(ctx, req)
}
