package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "chronik.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultIsValid(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if d.KafkaPort != 9092 || d.HTTPPort != 8080 || d.DataDir != "./data" || d.BindHost != "0.0.0.0" ||
		d.WALFormat != 3 || !d.AutoCreateTopics || d.LogLevel != "info" || d.Cluster.NodeAddr != "0.0.0.0:9093" ||
		d.Cluster.Raft.HeartbeatTimeoutMs != 200 || d.Cluster.Raft.ElectionTimeoutMs != 200 ||
		d.Cluster.Raft.LeaderLeaseTimeoutMs != 100 || !d.Cluster.Raft.EnablePipeline {
		t.Fatalf("unexpected defaults: %+v", d)
	}
}

func TestGuideConfigLoads(t *testing.T) {
	p := writeFile(t, `
kafka_port = 9092
data_dir = "/var/lib/chronik/data"

[cluster]
enabled = true
node_id = 2
node_addr = "0.0.0.0:9093"
advertised_node_addr = "node2.internal:9093"
seed_nodes = ["1@node1.internal:9093"]

[cluster.raft]
enable_pipeline = true  # Enable pipelined replication
max_in_flight = 1000    # Increase concurrency
`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	seeds, err := c.Seeds()
	if err != nil {
		t.Fatal(err)
	}
	want := []Seed{{ID: 1, Addr: "node1.internal:9093"}}
	if !reflect.DeepEqual(seeds, want) || c.Cluster.NodeID != 2 || c.DataDir != "/var/lib/chronik/data" ||
		c.Cluster.Raft.MaxInFlight != 1000 || c.KafkaNodeID() != 2 || c.EffectiveAdvertisedNodeAddr() != "node2.internal:9093" {
		t.Fatalf("got %+v seeds %v", c, seeds)
	}
}

func TestBootstrapEmptySeeds(t *testing.T) {
	p := writeFile(t, "[cluster]\nenabled = true\nnode_id = 1\nseed_nodes = []  # Bootstrap node\n")
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set("cluster.seed_nodes", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if seeds, _ := c.Seeds(); len(seeds) != 0 {
		t.Fatalf("seeds = %v, want none", seeds)
	}
}

func TestPrecedence(t *testing.T) {
	p := writeFile(t, "kafka_port = 1001\nhttp_port = 1002\nlog_level = \"warn\"\n[cluster]\nnode_id = 7\n")
	env := []string{"PATH=/bin", "CHRONIK_HTTP_PORT=2002", "CHRONIK_LOG_LEVEL=debug", "CHRONIK_CLUSTER_NODE_ID=8"}
	c, err := Load(p, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set("log_level", "error"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, want, from string
	}{
		{"kafka_port", "1001", "file over default"},
		{"http_port", "2002", "env over file"},
		{"log_level", "error", "flag over env"},
		{"cluster.node_id", "8", "env over file in a section"},
		{"data_dir", "./data", "default"},
	}
	for _, tt := range tests {
		if got, _ := c.Get(tt.key); got != tt.want {
			t.Errorf("%s: %s = %q, want %q", tt.from, tt.key, got, tt.want)
		}
	}
}

func TestLoadDefaultPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.toml")
	c, err := load("", missing, nil)
	if err != nil || !reflect.DeepEqual(c, Default()) {
		t.Fatalf("no file: got %+v, %v; want defaults", c, err)
	}
	present := writeFile(t, "kafka_port = 19092\n")
	if c, err = load("", present, nil); err != nil || c.KafkaPort != 19092 {
		t.Fatalf("default path file not read: %+v, %v", c, err)
	}
	other := writeFile(t, "kafka_port = 29092\n")
	if c, err = load("", present, []string{"CHRONIK_CONFIG=" + other}); err != nil || c.KafkaPort != 29092 {
		t.Fatalf("CHRONIK_CONFIG not honoured: %+v, %v", c, err)
	}
	if _, err = load(missing, present, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("explicit missing path: err = %v", err)
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown key in section", "[cluster]\nnodeid = 1\n",
			[]string{`unknown config key "cluster.nodeid" in `, `did you mean "cluster.node_id"`}},
		{"unknown top-level key", "kafka_prot = 1\n", []string{`unknown config key "kafka_prot"`}},
		{"unknown section", "[storage]\nx = 1\n", []string{`unknown config key "storage"`}},
		{"port out of range", "kafka_port = 70000\n", []string{`invalid value 70000 for config key "kafka_port"`, "65535"}},
		{"port zero", "http_port = 0\n", []string{`invalid value 0 for config key "http_port"`}},
		{"wrong type", "kafka_port = \"9092\"\n", []string{`invalid value "9092" for config key "kafka_port"`, "expected an integer, got a string"}},
		{"wal format", "wal_format = 4\n", []string{`invalid value 4 for config key "wal_format"`, "2, 3"}},
		{"log level", "log_level = \"verbose\"\n", []string{`invalid value "verbose" for config key "log_level"`, "debug, info, warn, error"}},
		{"bad seed", "[cluster]\nseed_nodes = [\"node2:9093\"]\n", []string{`config key "cluster.seed_nodes"`, `"node2:9093"`, "ID@host:port"}},
		{"section as scalar", "cluster = 1\n", []string{`config key "cluster"`, "must be a table"}},
		{"negative timeout", "[cluster.raft]\nheartbeat_timeout_ms = -5\n", []string{`invalid value -5 for config key "cluster.raft.heartbeat_timeout_ms"`}},
		{"syntax", "kafka_port = \n", []string{"parsing config file"}},
		{"two errors reported", "kafka_port = 0\nhttp_port = 0\n", []string{`"kafka_port"`, `"http_port"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.body)
			_, err := Load(p, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tt.want, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		env  string
		want []string
	}{
		{"CHRONIK_KAFKA_PORT=abc", []string{`invalid value "abc" for CHRONIK_KAFKA_PORT (config key "kafka_port")`, "not an integer"}},
		{"CHRONIK_KAFKA_PORT=0", []string{`invalid value "0" for CHRONIK_KAFKA_PORT`}},
		{"CHRONIK_AUTO_CREATE_TOPICS=maybe", []string{`CHRONIK_AUTO_CREATE_TOPICS`, "not a boolean"}},
		{"CHRONIK_CLUSTER_NODEID=1", []string{"unknown environment variable CHRONIK_CLUSTER_NODEID", `did you mean "cluster.node_id"`}},
		{"CHRONIK_WAL_FORMAT=300", []string{`invalid value "300" for CHRONIK_WAL_FORMAT`, "out of range"}},
	}
	for _, tt := range tests {
		_, err := Load("", append([]string{"CHRONIK_CONFIG="}, tt.env))
		if err == nil {
			t.Errorf("%s: no error", tt.env)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tt.env, err, w)
			}
		}
	}
}

func TestEnvAllTypes(t *testing.T) {
	c, err := load("", filepath.Join(t.TempDir(), "none"), []string{
		"CHRONIK_AUTO_CREATE_TOPICS=false",
		"CHRONIK_CLUSTER_SEED_NODES=1@a:9093, 2@b:9093",
		"CHRONIK_ADMIN_TOKEN=s3cret",
		"CHRONIK_CLUSTER_RAFT_ENABLE_PIPELINE=0",
		"CHRONIK_RETENTION_MS=-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.AutoCreateTopics || c.AdminToken != "s3cret" || c.Cluster.Raft.EnablePipeline || c.RetentionMs != -1 ||
		!reflect.DeepEqual(c.Cluster.SeedNodes, []string{"1@a:9093", "2@b:9093"}) {
		t.Fatalf("got %+v", c)
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		key, value string
		want       []string
	}{
		{"kafka_port", "65536", []string{`invalid value "65536" for --kafka-port (config key "kafka_port")`, "between 1 and 65535"}},
		{"cluster.node_id", "-1", []string{`--node-id`, "out of range"}},
		{"cluster.node_id", "2147483648", []string{`--node-id`, "between 0 and 2147483647"}},
		{"cluster.seed_nodes", "1@a:9093,1@b:9093", []string{"--seed-nodes", "node id 1 already used"}},
		{"cluster.node_addr", "nohostport", []string{"--node-addr", "host:port"}},
		{"cluster.advertised_node_addr", "0.0.0.0:9093", []string{"--advertised-node-addr", "others can dial"}},
		{"default_partitions", "0", []string{"--default-partitions", "at least 1"}},
		{"retention_bytes", "-2", []string{"--retention-bytes", "-1 (unlimited)"}},
		{"nope", "1", []string{`unknown config key "nope"`}},
	}
	for _, tt := range tests {
		c := Default()
		err := c.Set(tt.key, tt.value)
		if err == nil {
			t.Errorf("Set(%q, %q): no error", tt.key, tt.value)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Set(%q, %q): error %q does not contain %q", tt.key, tt.value, err, w)
			}
		}
	}
}

func TestValidateCrossKey(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"lease above heartbeat", func(c *Config) { c.Cluster.Raft.LeaderLeaseTimeoutMs = 300 },
			`"cluster.raft.leader_lease_timeout_ms": must not exceed cluster.raft.heartbeat_timeout_ms (200)`},
		{"heartbeat above election", func(c *Config) { c.Cluster.Raft.HeartbeatTimeoutMs = 500; c.Cluster.Raft.LeaderLeaseTimeoutMs = 100 },
			`"cluster.raft.heartbeat_timeout_ms": must not exceed cluster.raft.election_timeout_ms (200)`},
		{"cluster without node id", func(c *Config) { c.Cluster.Enabled = true }, `"cluster.node_id": must be set`},
		{"cluster with node id", func(c *Config) { c.Cluster.Enabled = true; c.Cluster.NodeID = 1 }, ""},
		{"own id in seeds", func(c *Config) {
			c.Cluster.Enabled, c.Cluster.NodeID = true, 1
			c.Cluster.SeedNodes = []string{"1@node1:9093", "2@node2:9093"}
		}, ""},
		{"zero timeout", func(c *Config) { c.Cluster.Raft.ElectionTimeoutMs = 0 }, `invalid value 0 for config key "cluster.raft.election_timeout_ms"`},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, `invalid value "" for config key "data_dir": must not be empty`},
		{"wal format 2", func(c *Config) { c.WALFormat = 2 }, ""},
	}
	for _, tt := range tests {
		c := Default()
		tt.mod(&c)
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestParseSeedNodes(t *testing.T) {
	tests := []struct {
		in      string
		want    []Seed
		wantErr string
	}{
		{"", []Seed{}, ""},
		{" , ", []Seed{}, ""},
		{"1@h:9093", []Seed{{1, "h:9093"}}, ""},
		{"1@green-1:9093,2@green-2:9093", []Seed{{1, "green-1:9093"}, {2, "green-2:9093"}}, ""},
		{"3@[::1]:9093", []Seed{{3, "[::1]:9093"}}, ""},
		{"h:9093", nil, "ID@host:port"},
		{"0@h:9093", nil, "between 1 and"},
		{"x@h:9093", nil, "between 1 and"},
		{"1@h", nil, "host:port"},
		{"1@h:0", nil, "between 1 and 65535"},
		{"1@h:99999", nil, "between 1 and 65535"},
		{"1@:9093", nil, "others can dial"},
		{"1@0.0.0.0:9093", nil, "others can dial"},
		{"1@a:9093,1@b:9093", nil, "already used"},
	}
	for _, tt := range tests {
		got, err := ParseSeedNodes(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSeedNodes(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSeedNodes(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestAdvertised(t *testing.T) {
	tests := []struct {
		bind, adv, nodeAddr, advNode string
		wantHost, wantNode           string
	}{
		{"0.0.0.0", "", "0.0.0.0:9093", "", "127.0.0.1", "127.0.0.1:9093"},
		{"::", "", "[::]:9093", "", "127.0.0.1", "127.0.0.1:9093"},
		{"10.0.0.5", "", "10.0.0.5:9093", "", "10.0.0.5", "10.0.0.5:9093"},
		{"0.0.0.0", "node1.internal", "0.0.0.0:9093", "", "node1.internal", "node1.internal:9093"},
		{"0.0.0.0", "node1.internal", "0.0.0.0:9093", "n1:19093", "node1.internal", "n1:19093"},
	}
	for _, tt := range tests {
		c := Default()
		c.BindHost, c.AdvertisedHost, c.Cluster.NodeAddr, c.Cluster.AdvertisedNodeAddr = tt.bind, tt.adv, tt.nodeAddr, tt.advNode
		if h, n := c.EffectiveAdvertisedHost(), c.EffectiveAdvertisedNodeAddr(); h != tt.wantHost || n != tt.wantNode {
			t.Errorf("%+v: got %q %q, want %q %q", tt, h, n, tt.wantHost, tt.wantNode)
		}
	}
	c := Default()
	if c.KafkaAddr() != "0.0.0.0:9092" || c.HTTPAddr() != "0.0.0.0:8080" || c.KafkaNodeID() != 1 ||
		c.EffectiveReplicationFactor(1) != 1 || c.EffectiveReplicationFactor(5) != 3 {
		t.Fatal("derived values wrong")
	}
}

func TestKeysTable(t *testing.T) {
	keys := Keys()
	seen := map[string]bool{}
	d := Default()
	for _, k := range keys {
		if k.Key == "" || k.Flag != "--"+k.FlagName || k.Env != envName(k.Key) || k.Doc == "" || k.Type == "" {
			t.Errorf("incomplete key info %+v", k)
		}
		for _, id := range []string{k.Key, k.Flag, k.Env} {
			if seen[id] {
				t.Errorf("duplicate %q", id)
			}
			seen[id] = true
		}
		// Every default round-trips through Set unchanged.
		c := Default()
		if err := c.Set(k.Key, k.Default); err != nil || !reflect.DeepEqual(c, d) {
			t.Errorf("Set(%q, default %q) = %v, changed config", k.Key, k.Default, err)
		}
	}
	for _, want := range []string{"--kafka-port", "--http-port", "--data-dir", "--bind-host", "--advertised-host", "--wal-format",
		"--admin-token", "--auto-create-topics", "--default-partitions", "--log-level", "--node-id", "--node-addr",
		"--advertised-node-addr", "--seed-nodes", "CHRONIK_KAFKA_PORT", "CHRONIK_CLUSTER_NODE_ID", "CHRONIK_ADMIN_TOKEN"} {
		if !seen[want] {
			t.Errorf("missing %s", want)
		}
	}
	// Every field of Config is reachable through a key (reflect over the TOML tags).
	var count func(reflect.Type) int
	count = func(t reflect.Type) int {
		n := 0
		for i := range t.NumField() {
			if f := t.Field(i); f.Type.Kind() == reflect.Struct {
				n += count(f.Type)
			} else {
				n++
			}
		}
		return n
	}
	if n := count(reflect.TypeFor[Config]()); n != len(keys) {
		t.Errorf("Config has %d fields but Keys() lists %d", n, len(keys))
	}
}

func TestMarkdownReference(t *testing.T) {
	md := MarkdownReference()
	lines := strings.Split(strings.TrimSpace(md), "\n")
	if len(lines) != len(Keys())+2 {
		t.Fatalf("%d lines for %d keys:\n%s", len(lines), len(Keys()), md)
	}
	for _, want := range []string{
		"| Key | Flag | Environment | Default | Description |",
		"| `kafka_port` | `--kafka-port` | `CHRONIK_KAFKA_PORT` | `9092` |",
		"| `data_dir` | `--data-dir` | `CHRONIK_DATA_DIR` | `\"./data\"` |",
		"| `cluster.seed_nodes` | `--seed-nodes` | `CHRONIK_CLUSTER_SEED_NODES` | `[]` |",
		"| `cluster.raft.heartbeat_timeout_ms` | `--raft-heartbeat-timeout-ms` | `CHRONIK_CLUSTER_RAFT_HEARTBEAT_TIMEOUT_MS` | `200` |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, l := range lines {
		if strings.Count(l, "|")-strings.Count(l, `\|`) != 6 {
			t.Errorf("malformed row %q", l)
		}
	}
}
