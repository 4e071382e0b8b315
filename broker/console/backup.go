package console

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
	"github.com/chronik-stream/chronik/broker/backup"
)

// BackupProgress is the state of a running backup.
type BackupProgress struct {
	Path         string
	FilesTotal   int
	FilesDone    int   // known at the end
	BytesInput   int64 // uncompressed bytes to archive
	BytesWritten int64 // compressed archive bytes written so far
	Done         bool
	// Set on the final state once the archive was read back and matched its manifest.
	Verified           bool
	Topics, Partitions int
	Records            int64 // sum of the partitions' high watermarks
	VerifiedAt         time.Time
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
	if err := s.verifyBackup(ctx, &final); err != nil {
		s.events.Appendf(slog.LevelError, "console: backup %s does not verify: %v", path, err)
		return status.Errorf(codes.DataLoss, "Backup: %s was written but does not read back: %v", path, err)
	}
	final.Done = true // the node logs (and so records an event for) the finished backup
	s.mu.Lock()
	s.lastBackup = &final
	s.mu.Unlock()
	s.events.Appendf(slog.LevelInfo, "console: backup %s verified: %s, %s, %d records", path,
		plural(final.Topics, "topic"), plural(final.Partitions, "partition"), final.Records)
	return stream.Send(backupToProto(final))
}

// verifyBackup reads the archive back and checks every file against its manifest.
func (s *Server) verifyBackup(ctx context.Context, p *BackupProgress) error {
	f, err := os.Open(p.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := backup.Verify(ctx, f)
	if err != nil {
		return err
	}
	p.Verified, p.Topics, p.Partitions = true, len(m.Topics), len(m.Partitions)
	for _, part := range m.Partitions {
		p.Records += part.HighWatermark
	}
	p.VerifiedAt = s.cfg.Now()
	return nil
}

// verifiedBackup is the last backup this node wrote and verified since it started, if any.
func (s *Server) verifiedBackup() *BackupProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastBackup
}

func backupToProto(p BackupProgress) *consolepb.BackupProgress {
	return &consolepb.BackupProgress{
		FilesDone:  int64(p.FilesDone),
		FilesTotal: int64(p.FilesTotal),
		BytesDone:  p.BytesWritten,
		BytesTotal: p.BytesInput,
		Done:       p.Done,
		OutputPath: p.Path,
		Verified:   p.Verified,
		Topics:     int32(p.Topics),
		Partitions: int32(p.Partitions),
		Records:    p.Records,
	}
}
