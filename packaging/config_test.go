package packaging_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/broker/config"
)

const (
	defaultConfig = "chronik.toml"
	unitFile      = "systemd/chronik.service"
	dataDir       = "/var/lib/chronik/data"
)

// TestDefaultConfigLoadsForStart loads the shipped file the way
// `chronik-server start --config /etc/chronik/chronik.toml` does.
func TestDefaultConfigLoadsForStart(t *testing.T) {
	c, err := config.Load(defaultConfig, nil)
	if err != nil {
		t.Fatalf("load %s: %v", defaultConfig, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("validate %s: %v", defaultConfig, err)
	}
	if c.Cluster.Enabled {
		t.Fatalf("%s enables the cluster: `chronik-server start` would refuse it", defaultConfig)
	}
	want := config.Default()
	want.DataDir = dataDir
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("%s drifted from the built-in defaults (only data_dir may differ):\n got %+v\nwant %+v", defaultConfig, c, want)
	}
}

// commentedKey matches an example line such as `# node_id = 1`.
var commentedKey = regexp.MustCompile(`^# ([a-z_]+ = .*)$`)

// TestCommentedExamplesFormClusterConfig uncomments every `# key = value`
// line: each must be a known key with a valid value, and the result must be a
// valid configuration for `chronik-server cluster`.
func TestCommentedExamplesFormClusterConfig(t *testing.T) {
	raw, err := os.ReadFile(defaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	uncommented := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if m := commentedKey.FindStringSubmatch(line); m != nil {
			line = m[1]
			uncommented++
		}
		out = append(out, line)
	}
	if uncommented < 4 {
		t.Fatalf("found %d commented examples, want at least 4 (advertised_host, admin_token, node_id, seed_nodes ...)", uncommented)
	}
	p := filepath.Join(t.TempDir(), "cluster.toml")
	if err := os.WriteFile(p, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(p, nil)
	if err != nil {
		t.Fatalf("uncommented examples do not load: %v", err)
	}
	if err := c.Set("cluster.enabled", "true"); err != nil { // what `cluster` does
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("uncommented examples are not a valid cluster config: %v", err)
	}
	seeds, err := c.Seeds()
	if err != nil || len(seeds) == 0 || c.Cluster.NodeID == 0 || c.Cluster.AdvertisedNodeAddr == "" {
		t.Fatalf("cluster examples incomplete: node_id=%d advertised=%q seeds=%v err=%v",
			c.Cluster.NodeID, c.Cluster.AdvertisedNodeAddr, seeds, err)
	}
}
