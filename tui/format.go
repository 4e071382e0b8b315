package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// truncate cuts s to width cells, marking the cut with "…".
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return ansi.Truncate(s, width, "…")
}

// pad left-aligns s in width cells (truncating).
func pad(s string, width int) string {
	s = truncate(s, width)
	if w := ansi.StringWidth(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// padLeft right-aligns s in width cells (truncating).
func padLeft(s string, width int) string {
	s = truncate(s, width)
	if w := ansi.StringWidth(s); w < width {
		s = strings.Repeat(" ", width-w) + s
	}
	return s
}

// ago formats a duration for "updated 3s ago".
func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh ago", int(d.Hours()))
}

// rate formats records/s.
func rate(r float64) string {
	switch {
	case r <= 0:
		return "0"
	case r < 10:
		return fmt.Sprintf("%.1f", r)
	case r < 10000:
		return fmt.Sprintf("%.0f", r)
	case r < 1e7:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.1fM", r/1e6)
}

// sparkline draws values (oldest first) with block characters, scaled to their maximum.
func sparkline(values []float64, width int) string {
	const bars = "▁▂▃▄▅▆▇█"
	runes := []rune(bars)
	if width <= 0 {
		return ""
	}
	if len(values) > width {
		values = values[len(values)-width:]
	}
	var top float64
	for _, v := range values {
		top = math.Max(top, v)
	}
	var b strings.Builder
	for _, v := range values {
		i := 0
		if top > 0 && v > 0 {
			i = int(math.Round(v / top * float64(len(runes)-1)))
		}
		b.WriteRune(runes[i])
	}
	return b.String()
}

func roleName(r consolepb.Role) string {
	switch r {
	case consolepb.Role_ROLE_LEADER:
		return "leader"
	case consolepb.Role_ROLE_FOLLOWER:
		return "follower"
	case consolepb.Role_ROLE_CANDIDATE:
		return "candidate"
	case consolepb.Role_ROLE_NONVOTER:
		return "nonvoter"
	case consolepb.Role_ROLE_SHUTDOWN:
		return "shutdown"
	case consolepb.Role_ROLE_UNREACHABLE:
		return "unreachable"
	case consolepb.Role_ROLE_JOINING:
		return "joining"
	}
	return "unknown"
}

func modeName(m consolepb.Mode) string {
	switch m {
	case consolepb.Mode_MODE_STANDALONE:
		return "standalone"
	case consolepb.Mode_MODE_CLUSTER:
		return "cluster"
	}
	return "unknown mode"
}

func levelName(l consolepb.Level) string {
	switch l {
	case consolepb.Level_LEVEL_DEBUG:
		return "DEBUG"
	case consolepb.Level_LEVEL_INFO:
		return "INFO"
	case consolepb.Level_LEVEL_WARN:
		return "WARN"
	case consolepb.Level_LEVEL_ERROR:
		return "ERROR"
	}
	return "?"
}

func checkMark(s consolepb.CheckStatus) string {
	switch s {
	case consolepb.CheckStatus_CHECK_STATUS_PASS:
		return "PASS"
	case consolepb.CheckStatus_CHECK_STATUS_WARN:
		return "WARN"
	case consolepb.CheckStatus_CHECK_STATUS_FAIL:
		return "FAIL"
	case consolepb.CheckStatus_CHECK_STATUS_SKIP:
		return "SKIP"
	}
	return "?"
}

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

// plural is "1 member" / "3 members".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
