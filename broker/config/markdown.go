package config

import (
	"strconv"
	"strings"
)

// MarkdownReference renders Keys() as a Markdown table for
// docs/configuration.md: key, flag, environment variable, default (in TOML
// syntax) and description.
func MarkdownReference() string {
	var b strings.Builder
	b.WriteString("| Key | Flag | Environment | Default | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, k := range Keys() {
		b.WriteString("| `" + k.Key + "` | `" + k.Flag + "` | `" + k.Env + "` | `" + tomlDefault(k) + "` | " +
			strings.ReplaceAll(k.Doc, "|", `\|`) + " |\n")
	}
	return b.String()
}

func tomlDefault(k KeyInfo) string {
	switch k.Type {
	case "string":
		return strconv.Quote(k.Default)
	case "list":
		l := splitList(k.Default)
		for i, s := range l {
			l[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(l, ", ") + "]"
	default:
		return k.Default
	}
}
