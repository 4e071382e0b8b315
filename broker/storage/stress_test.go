package storage

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestConcurrentAppendReadRetention runs appenders, long-polling consumers
// and retention together (meant for -race): consumers see increasing,
// contiguous offsets except where retention moved the log start past them.
func TestConcurrentAppendReadRetention(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 4096
	cfg.RetentionBytes = 16384
	l := openTest(t, t.TempDir(), cfg)
	const appenders, each = 4, 150
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	for a := 0; a < appenders; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := l.Append(ctx, makeBatch(t, spec{records: 2, valueSize: 200}), AppendOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	final := int64(appenders * each * 2)
	var cwg sync.WaitGroup
	for c := 0; c < 2; c++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			next := int64(0)
			for next < final {
				changed := l.Changed()
				res, err := l.Read(next, 8192)
				switch {
				case kerrOf(err) == kerr.OffsetOutOfRange && next < l.LogStartOffset():
					next = l.LogStartOffset()
					continue
				case err != nil:
					t.Errorf("read at %d: %v", next, err)
					return
				case len(res.Records) == 0:
					select {
					case <-changed:
					case <-ctx.Done():
						return
					}
					continue
				}
				for _, b := range splitBatches(t, res.Records) {
					if b.FirstOffset > next || b.FirstOffset+int64(b.LastOffsetDelta) < next {
						t.Errorf("read at %d returned batch %d..%d", next, b.FirstOffset, b.FirstOffset+int64(b.LastOffsetDelta))
						return
					}
					next = b.FirstOffset + int64(b.LastOffsetDelta) + 1
				}
			}
		}()
	}
	stop := make(chan struct{})
	retained := make(chan struct{})
	go func() {
		defer close(retained)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := l.EnforceRetention(time.Now()); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	cwg.Wait()
	close(stop)
	<-retained
	// The loop may have stopped before it saw the last appends: one more pass over the final
	// log, so that the bound below is about retention, not about which goroutine ran last.
	if err := l.EnforceRetention(time.Now()); err != nil {
		t.Fatal(err)
	}
	if hw := l.HighWatermark(); hw != final {
		t.Fatalf("HWM %d, want %d", hw, final)
	}
	if l.LogStartOffset() == 0 {
		t.Fatal("retention never deleted a segment")
	}
	if st := l.Stats(); st.Bytes > cfg.RetentionBytes+cfg.SegmentBytes+4096 {
		t.Fatalf("retention did not bound the log: %+v", st)
	}
}

func TestWriteFailureFailsLog(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	mustAppend(t, l, makeBatch(t, spec{}))
	_ = l.active.f.Close() // the disk goes away under the writer
	_, err := l.Append(context.Background(), makeBatch(t, spec{}), AppendOptions{})
	if kerrOf(err) != kerr.KafkaStorageError {
		t.Fatalf("append on a failed disk: %v, want KAFKA_STORAGE_ERROR", err)
	}
	_, err = l.Append(context.Background(), makeBatch(t, spec{}), AppendOptions{})
	if kerrOf(err) != kerr.KafkaStorageError {
		t.Fatalf("append after the failure: %v, want KAFKA_STORAGE_ERROR", err)
	}
	if err := l.Sync(); err == nil {
		t.Fatal("Sync on a failed log succeeded")
	}
	if hw := l.HighWatermark(); hw != 1 {
		t.Fatalf("HWM moved to %d on a failed write", hw)
	}
	_ = l.Close() // reports the dead file; must not hang
}
