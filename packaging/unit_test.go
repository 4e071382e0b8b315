package packaging_test

import (
	"os"
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/broker/config"
)

func TestSystemdUnit(t *testing.T) {
	raw, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(raw), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"User=chronik",
		"ExecStart=/usr/bin/chronik-server start --config /etc/chronik/chronik.toml",
		"Restart=on-failure",
		"LimitNOFILE=1048576",
		"StateDirectory=chronik",
		"WorkingDirectory=/var/lib/chronik",
		"TimeoutStopSec=60",
		"NoNewPrivileges=true",
		"ProtectSystem=full",
		"ProtectHome=true",
		"PrivateTmp=true",
		"WantedBy=multi-user.target",
	} {
		if !lines[want] {
			t.Errorf("%s lacks %q", unitFile, want)
		}
	}
	c, err := config.Load(defaultConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.DataDir, "/var/lib/chronik/") {
		t.Errorf("data_dir %q is outside the unit's StateDirectory /var/lib/chronik", c.DataDir)
	}
}
