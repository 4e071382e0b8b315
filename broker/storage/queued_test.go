package storage

import (
	"context"
	"testing"
)

// Queued fires exactly once, before Append returns, whether the append was queued or refused.
func TestAppendQueuedCallback(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	cases := []struct {
		name    string
		records []byte
		wantErr bool
	}{
		{"queued", makeBatch(t, spec{records: 3}), false},
		{"empty payload", nil, true},
		{"bad batch", []byte("not a record batch at all, far too short"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			_, err := l.Append(context.Background(), tc.records, AppendOptions{Queued: func() { calls++ }})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if calls != 1 {
				t.Fatalf("Queued called %d times, want 1", calls)
			}
		})
	}
}
