package console

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// BackupProgress is the state of a running backup.
type BackupProgress struct {
	Path         string
	FilesTotal   int
	FilesDone    int   // known at the end
	BytesInput   int64 // uncompressed bytes to archive
	BytesWritten int64 // compressed archive bytes written so far
	Done         bool
}

// Backuper writes online backups of the node.
type Backuper interface {
	// Backup writes a backup archive of a consistent cut of the node's logs to path, which must
	// not exist (an error wrapping fs.ErrExist otherwise), calls progress as it goes and returns
	// the final state. On failure the partial file is removed.
	Backup(ctx context.Context, path string, progress func(BackupProgress)) (BackupProgress, error)
}

// backupProgressEvery throttles Backup progress messages.
const backupProgressEvery = 250 * time.Millisecond

// Backup (mutating) writes a backup archive on the node through Config.Backuper.
func (s *Server) Backup(req *consolepb.BackupRequest, stream grpc.ServerStreamingServer[consolepb.BackupProgress]) error {
	ctx := stream.Context()
	if err := s.requireAdmin(ctx, "Backup"); err != nil {
		return err
	}
	if s.cfg.Backuper == nil {
		return status.Error(codes.Unimplemented, missingBackup)
	}
	path := req.GetOutputPath()
	if path == "" {
		return status.Error(codes.InvalidArgument, "Backup: output_path is required")
	}
	if !filepath.IsAbs(path) {
		dataDir, err := filepath.Abs(s.src.Node().DataDir)
		if err != nil {
			return status.Errorf(codes.Internal, "Backup: resolving the data directory: %v", err)
		}
		path = filepath.Join(filepath.Dir(dataDir), path)
	}
	s.events.Appendf(slog.LevelInfo, "console: backup to %s started", path)
	var last time.Time
	var sendErr error
	final, err := s.cfg.Backuper.Backup(ctx, path, func(p BackupProgress) {
		if now := s.cfg.Now(); sendErr == nil && now.Sub(last) >= backupProgressEvery {
			last = now
			sendErr = stream.Send(backupToProto(p))
		}
	})
	switch {
	case errors.Is(err, fs.ErrExist):
		return status.Errorf(codes.AlreadyExists, "Backup: %v", err)
	case err != nil:
		s.events.Appendf(slog.LevelError, "console: backup to %s failed: %v", path, err)
		return status.Errorf(codes.Internal, "Backup: %v", err)
	case sendErr != nil:
		return sendErr
	}
	final.Done = true // the node logs (and so records an event for) the finished backup
	return stream.Send(backupToProto(final))
}

func backupToProto(p BackupProgress) *consolepb.BackupProgress {
	return &consolepb.BackupProgress{
		FilesDone:  int64(p.FilesDone),
		FilesTotal: int64(p.FilesTotal),
		BytesDone:  p.BytesWritten,
		BytesTotal: p.BytesInput,
		Done:       p.Done,
		OutputPath: p.Path,
	}
}
