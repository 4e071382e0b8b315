package node

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/chronik-stream/chronik/broker/backup"
	"github.com/chronik-stream/chronik/broker/httpapi"
	"github.com/chronik-stream/chronik/broker/storage"
)

// registerAdmin adds the node's admin endpoints; both need the admin token.
//
//	POST /admin/set-hwm   {"topic":"orders","partition":0,"offset":1000}
//	GET  /admin/backup    a tar.gz backup of a consistent cut of every log
func (n *Node) registerAdmin(api *httpapi.Server) {
	api.RegisterAdmin(http.MethodPost, "/admin/set-hwm", n.handleSetHWM, true)
	api.RegisterAdmin(http.MethodGet, "/admin/backup", n.handleBackup, true)
}

type setHWMRequest struct {
	Topic     string `json:"topic"`
	Partition *int32 `json:"partition"`
	Offset    *int64 `json:"offset"`
}

type setHWMResponse struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	PreviousHWM int64  `json:"previous_hwm"`
	HWM         int64  `json:"hwm"`
}

// setHWMError is the 400 body of a refused offset.
type setHWMError struct {
	Error             string  `json:"error"`
	LogStartOffset    *int64  `json:"log_start_offset,omitempty"`
	LogEndOffset      *int64  `json:"log_end_offset,omitempty"`
	NearestBoundaries []int64 `json:"nearest_boundaries,omitempty"`
}

// handleSetHWM sets a partition's high watermark. The high watermark of this
// broker is the log end offset, so a lower offset truncates the log there
// (see storage.Log.SetHighWatermark); a higher one is refused.
// errSetHWMCluster refuses set-hwm on a cluster node.
var errSetHWMCluster = errors.New("set-hwm is refused in cluster mode: it would truncate this replica only and make the replicas diverge; the high watermark of a replicated partition is the last offset its Raft group applied")

func (n *Node) handleSetHWM(w http.ResponseWriter, r *http.Request) {
	if n.cluster != nil {
		// Truncating one replica's log outside Raft would make the replicas diverge.
		httpapi.WriteError(w, http.StatusConflict, errSetHWMCluster.Error())
		return
	}
	var req setHWMRequest
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	switch {
	case req.Topic == "":
		httpapi.WriteError(w, http.StatusBadRequest, `field "topic" is required`)
		return
	case req.Partition == nil:
		httpapi.WriteError(w, http.StatusBadRequest, `field "partition" is required`)
		return
	case req.Offset == nil:
		httpapi.WriteError(w, http.StatusBadRequest, `field "offset" is required`)
		return
	}
	l, ok := n.logs.Get(req.Topic, *req.Partition)
	if !ok {
		httpapi.WriteError(w, http.StatusNotFound, fmt.Sprintf("unknown topic or partition %s/%d", req.Topic, *req.Partition))
		return
	}
	prev, err := l.SetHighWatermark(*req.Offset)
	var rangeErr *storage.OffsetRangeError
	var boundaryErr *storage.NotBatchBoundaryError
	switch {
	case errors.As(err, &rangeErr):
		msg := fmt.Sprintf("offset %d is beyond the log end offset %d of %s/%d: the high watermark can only be lowered (truncating the log)",
			rangeErr.Offset, rangeErr.LogEnd, req.Topic, *req.Partition)
		if errors.Is(err, storage.ErrOffsetBelowLogStart) {
			msg = fmt.Sprintf("offset %d is below the log start offset %d of %s/%d", rangeErr.Offset, rangeErr.LogStart, req.Topic, *req.Partition)
		}
		httpapi.WriteJSON(w, http.StatusBadRequest, setHWMError{Error: msg, LogStartOffset: &rangeErr.LogStart, LogEndOffset: &rangeErr.LogEnd})
		return
	case errors.As(err, &boundaryErr):
		httpapi.WriteJSON(w, http.StatusBadRequest, setHWMError{
			Error: fmt.Sprintf("offset %d is inside a record batch of %s/%d: the log can only be cut between batches; the nearest batch boundaries are %d and %d",
				boundaryErr.Offset, req.Topic, *req.Partition, boundaryErr.Before, boundaryErr.After),
			NearestBoundaries: []int64{boundaryErr.Before, boundaryErr.After},
		})
		return
	case errors.Is(err, storage.ErrClosed):
		httpapi.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	case err != nil:
		n.logger.Error("set-hwm failed", "topic", req.Topic, "partition", *req.Partition, "offset", *req.Offset, "err", err)
		httpapi.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	hwm := l.HighWatermark() // storage logs the truncation at WARN
	httpapi.WriteJSON(w, http.StatusOK, setHWMResponse{Topic: req.Topic, Partition: *req.Partition, PreviousHWM: prev, HWM: hwm})
}

// handleBackup streams a backup archive of a consistent cut of every
// partition log and the metadata log (see storage.Cut and package backup).
// Failures before the first byte answer a JSON error; later ones abort the
// connection, so a client never mistakes a partial archive for a whole one.
func (n *Node) handleBackup(w http.ResponseWriter, r *http.Request) {
	walDir := filepath.Join(n.cfg.DataDir, "wal")
	cut, err := n.logs.CaptureCut(n.metaLog())
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	src, err := backup.FromCut(cut, walDir, "online node "+n.HTTPAddr()+" data dir "+n.cfg.DataDir)
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer src.Close()
	name := "chronik-backup-" + time.Now().UTC().Format("20060102-150405") + ".tar.gz"
	cw := &lazyHeaderWriter{w: w, name: name}
	m, err := backup.Write(r.Context(), cw, src, backup.Options{WALFormat: n.cfg.WALFormat})
	if err != nil {
		n.logger.Error("backup failed", "remote", r.RemoteAddr, "err", err)
		if !cw.started {
			httpapi.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		panic(http.ErrAbortHandler)
	}
	n.logger.Info("backup streamed", "remote", r.RemoteAddr, "files", len(m.Files), "bytes", m.Bytes(),
		"topics", len(m.Topics), "partitions", len(m.Partitions))
}

// lazyHeaderWriter sends the archive's headers with its first byte.
type lazyHeaderWriter struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (c *lazyHeaderWriter) Write(p []byte) (int, error) {
	if !c.started {
		c.started = true
		c.w.Header().Set("Content-Type", "application/gzip")
		c.w.Header().Set("Content-Disposition", `attachment; filename="`+c.name+`"`)
		c.w.WriteHeader(http.StatusOK)
	}
	return c.w.Write(p)
}

var _ io.Writer = (*lazyHeaderWriter)(nil)
