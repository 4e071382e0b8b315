package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// conformanceDir finds ../shared/conformance (CONFORMANCE_DIR overrides it).
func conformanceDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("CONFORMANCE_DIR"); d != "" {
		return d
	}
	d, err := filepath.Abs("../../../shared/conformance")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "smoke.sh")); err != nil {
		t.Fatalf("conformance kit not found at %s (run scripts/test.sh, which installs it): %v", d, err)
	}
	return d
}

// TestSmokeRealClients runs every default check of the shared smoke script — kcat,
// kafka-python, confluent-kafka, kafkajs, sarama, kafka-go and franz-go — against a
// real standalone chronik-server process.
func TestSmokeRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: needs the conformance clients")
	}
	dir := conformanceDir(t)
	p := startServer(t, t.TempDir())
	cmd := exec.Command("bash", filepath.Join(dir, "smoke.sh"), p.kafkaAddr())
	cmd.Env = append(os.Environ(), "SMOKE_LOGS="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("smoke.sh output:\n%s", out)
	if err != nil {
		logs := ""
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "FAIL ") {
				if i := strings.Index(line, "log: "); i >= 0 {
					path := strings.TrimSuffix(line[i+5:], ")")
					b, _ := os.ReadFile(path)
					logs += "\n--- " + path + "\n" + string(b)
				}
			}
		}
		t.Fatalf("smoke.sh failed: %v%s", err, logs)
	}
}
