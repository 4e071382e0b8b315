package console

import (
	"fmt"

	"github.com/chronik-stream/chronik/api/consolepb"
)

func check(id, name string, st consolepb.CheckStatus, format string, args ...any) *consolepb.Check {
	return &consolepb.Check{Id: id, Name: name, Status: st, Detail: fmt.Sprintf(format, args...)}
}

const (
	pass = consolepb.CheckStatus_CHECK_STATUS_PASS
	warn = consolepb.CheckStatus_CHECK_STATUS_WARN
	fail = consolepb.CheckStatus_CHECK_STATUS_FAIL
	skip = consolepb.CheckStatus_CHECK_STATUS_SKIP
)

// humanBytes formats n with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
