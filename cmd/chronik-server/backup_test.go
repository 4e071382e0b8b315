package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/walcodec"
)

// tarNames lists an archive's entries.
func tarNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// TestBackupRestorePaths: offline and online backups of the v1.x fixture
// restore into fresh data dirs that start with exactly the fixture's data.
func TestBackupRestorePaths(t *testing.T) {
	fx := migBuild(t)

	t.Run("offline backup, restore, start", func(t *testing.T) {
		data := fx.copyTo(t)
		archive := filepath.Join(t.TempDir(), "chronik-backup.tar.gz")
		// Refused while a broker holds the data dir.
		n := migStart(t, data, walcodec.V2, nil)
		_, err := runRoot("backup", "--output", archive, "--data-dir", data)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("data dir %s is in use by a running broker: use --from http://host:8080", data)) {
			t.Fatalf("offline backup of a running broker: %v", err)
		}
		if err := n.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		out, err := runRoot("backup", "--output", archive, "--data-dir", data)
		if err != nil || !strings.Contains(out, "Backup written to "+archive+": 3 topics, 6 partitions, 2 consumer groups") {
			t.Fatalf("backup: %v\n%s", err, out)
		}
		t.Logf("backup output:\n%s", out)
		names := tarNames(t, archive)
		for _, want := range []string{"wal/", "wal/__meta/wal_0_00000001.log", "wal/orders/0/wal_0_00000001.log", "wal/logs/0/wal_0_00000001.log", "manifest.json"} {
			if !migContains(names, want) {
				t.Fatalf("archive lacks %s: %v", want, names)
			}
		}
		if _, err := runRoot("backup", "--output", archive, "--data-dir", data); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("backup over an existing file: %v", err)
		}

		// Restore into a non-empty dir is refused; into a new one it works.
		if _, err := runRoot("restore", "--input", archive, "--data-dir", data); err == nil || !strings.Contains(err.Error(), "is not empty") {
			t.Fatalf("restore into a non-empty dir: %v", err)
		}
		target := filepath.Join(t.TempDir(), "restored")
		out, err = runRoot("restore", "--input", archive, "--data-dir", target)
		if err != nil || !strings.Contains(out, "Restored "+archive+" into "+target+": 3 topics, 6 partitions, 2 consumer groups") {
			t.Fatalf("restore: %v\n%s", err, out)
		}
		t.Logf("restore output:\n%s", out)
		for _, s := range migSegments(t, filepath.Join(target, "wal")) {
			if m := migMagic(t, s); m != "WAL2" {
				t.Fatalf("restored %s starts with %q, want the backed-up WAL2", s, m)
			}
		}
		fx.check(t, migStart(t, target, walcodec.V3, nil))
	})

	t.Run("online backup from a running node, restore, start", func(t *testing.T) {
		data := fx.copyTo(t)
		n := migStart(t, data, walcodec.V3, nil)
		url := "http://" + n.HTTPAddr()
		archive := filepath.Join(t.TempDir(), "blue-backup.tar.gz")
		if _, err := runRoot("backup", "--output", archive, "--from", url); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("online backup without a token: %v", err)
		}
		if _, err := os.Stat(archive); !os.IsNotExist(err) {
			t.Fatalf("a refused backup left %s: %v", archive, err)
		}

		// A producer keeps writing to another topic during the backup.
		ctx, cancel := context.WithCancel(context.Background())
		live := migClient(t, n.KafkaAddr(), kgo.DefaultProduceTopic("live"))
		create := kmsg.NewPtrCreateTopicsRequest()
		ct := kmsg.NewCreateTopicsRequestTopic()
		ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "live", 1, 1
		create.Topics = append(create.Topics, ct)
		if resp, err := create.RequestWith(ctx, live); err != nil || resp.Topics[0].ErrorCode != 0 {
			t.Fatalf("create topic live: %v %v", err, resp)
		}
		var wg sync.WaitGroup
		var produced sync.Map
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				r := &kgo.Record{Value: []byte(fmt.Sprintf("live-%d", i))}
				if err := live.ProduceSync(ctx, r).FirstErr(); err == nil {
					produced.Store(r.Offset, string(r.Value))
				}
			}
		}()
		deadline := time.Now().Add(20 * time.Second)
		for migCount(&produced) < 20 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := migCount(&produced); n < 20 {
			t.Fatalf("the live producer got only %d acknowledgements in 20 s: the backup would not be taken under load", n)
		}
		out, err := runRoot("backup", "--output", archive, "--from", url, "--token", migToken)
		cancel()
		wg.Wait()
		if err != nil || !strings.Contains(out, "Backup written to "+archive+": 4 topics") {
			t.Fatalf("online backup: %v\n%s", err, out)
		}
		t.Logf("online backup output:\n%s", out)

		target := filepath.Join(t.TempDir(), "green")
		if out, err := runRoot("restore", "--input", archive, "--data-dir", target); err != nil {
			t.Fatalf("restore: %v\n%s", err, out)
		}
		r := migStart(t, target, walcodec.V3, nil)
		got := migSnap(t, r.KafkaAddr())
		// The live topic holds a prefix of what was acknowledged, consistent
		// with its high watermark; everything else equals the fixture.
		hwm := got.HWM["live/0"]
		if hwm == 0 {
			t.Fatalf("the backup holds no live record")
		}
		var liveRecs []migRecord
		var rest []migRecord
		for _, rec := range got.Records {
			if rec.Topic == "live" {
				liveRecs = append(liveRecs, rec)
			} else {
				rest = append(rest, rec)
			}
		}
		if int64(len(liveRecs)) != hwm {
			t.Fatalf("%d live records below the restored high watermark %d", len(liveRecs), hwm)
		}
		for _, rec := range liveRecs {
			if v, ok := produced.Load(rec.Offset); !ok || v != rec.Value {
				t.Fatalf("restored live record %d = %q, acknowledged %v", rec.Offset, rec.Value, v)
			}
		}
		delete(got.Topics, "live")
		delete(got.Configs, "live")
		delete(got.Start, "live/0")
		delete(got.HWM, "live/0")
		got.Records = rest
		migEqual(t, got, fx.snap)
	})
}

func migCount(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	return n
}

func migContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
