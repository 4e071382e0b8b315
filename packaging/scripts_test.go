package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// runScript runs a maintainer script with fake systemctl, getent, groupadd,
// useradd and install on PATH (each appends its command line to a log) and
// with the systemd guard pointed at a directory that exists when systemd is
// true. It returns the logged calls.
func runScript(t *testing.T, script string, systemd bool, args ...string) []string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	logf := filepath.Join(dir, "calls.log")
	for _, name := range []string{"systemctl", "groupadd", "useradd", "install"} {
		fake := "#!/bin/sh\necho \"" + name + " $*\" >> " + logf + "\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// getent finds nothing: the user and group do not exist yet.
	if err := os.WriteFile(filepath.Join(bin, "getent"), []byte("#!/bin/sh\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run-systemd-system")
	if systemd {
		if err := os.Mkdir(runDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join("scripts", script))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "/run/systemd/system") && strings.Contains(string(raw), "systemctl") {
		t.Fatalf("%s calls systemctl without the /run/systemd/system guard", script)
	}
	body := strings.ReplaceAll(string(raw), "/run/systemd/system", runDir)
	p := filepath.Join(dir, script)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", append([]string{p}, args...)...)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, out)
	}
	logged, err := os.ReadFile(logf)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(logged)), "\n")
}

func TestMaintainerScriptBehaviour(t *testing.T) {
	mkdata := "install -d -o chronik -g chronik -m 0750 /var/lib/chronik"
	tests := []struct {
		name    string
		script  string
		systemd bool
		args    []string
		want    []string
	}{
		{"preinst creates user and group", "preinstall.sh", true, []string{"install"},
			[]string{"groupadd --system chronik",
				"useradd --system --gid chronik --home-dir /var/lib/chronik --no-create-home --shell /usr/sbin/nologin --comment Chronik Stream broker chronik"}},
		{"rpm %pre creates user and group", "preinstall.sh", true, []string{"1"},
			[]string{"groupadd --system chronik",
				"useradd --system --gid chronik --home-dir /var/lib/chronik --no-create-home --shell /usr/sbin/nologin --comment Chronik Stream broker chronik"}},

		{"deb first install enables, does not start", "postinstall.sh", true, []string{"configure", ""},
			[]string{mkdata, "systemctl daemon-reload", "systemctl enable chronik.service"}},
		{"deb upgrade try-restarts", "postinstall.sh", true, []string{"configure", "2.0.0"},
			[]string{mkdata, "systemctl daemon-reload", "systemctl try-restart chronik.service"}},
		{"rpm first install enables, does not start", "postinstall.sh", true, []string{"1"},
			[]string{mkdata, "systemctl daemon-reload", "systemctl enable chronik.service"}},
		{"rpm upgrade try-restarts", "postinstall.sh", true, []string{"2"},
			[]string{mkdata, "systemctl daemon-reload", "systemctl try-restart chronik.service"}},
		{"no systemd: no systemctl", "postinstall.sh", false, []string{"configure", ""},
			[]string{mkdata}},
		{"deb abort-upgrade does nothing", "postinstall.sh", true, []string{"abort-upgrade", "2.0.1"}, nil},

		{"deb remove stops and disables", "preremove.sh", true, []string{"remove"},
			[]string{"systemctl stop chronik.service", "systemctl disable chronik.service"}},
		{"rpm erase stops and disables", "preremove.sh", true, []string{"0"},
			[]string{"systemctl stop chronik.service", "systemctl disable chronik.service"}},
		{"deb upgrade does not stop", "preremove.sh", true, []string{"upgrade", "2.0.1"}, nil},
		{"rpm upgrade does not stop", "preremove.sh", true, []string{"1"}, nil},
		{"no systemd: remove without systemctl", "preremove.sh", false, []string{"remove"}, nil},

		{"deb remove reloads units", "postremove.sh", true, []string{"remove"}, []string{"systemctl daemon-reload"}},
		{"deb purge keeps data", "postremove.sh", true, []string{"purge"}, []string{"systemctl daemon-reload"}},
		{"rpm erase reloads units", "postremove.sh", true, []string{"0"}, []string{"systemctl daemon-reload"}},
		{"rpm upgrade: nothing", "postremove.sh", true, []string{"1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runScript(t, tt.script, tt.systemd, tt.args...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s %q: calls\n%q\nwant\n%q", tt.script, tt.args, got, tt.want)
			}
		})
	}
}

// A failing systemctl (no D-Bus, masked unit …) must not fail the package operation.
func TestMaintainerScriptsTolerateSystemctlFailure(t *testing.T) {
	for _, tc := range []struct{ script, arg string }{
		{"postinstall.sh", "1"}, {"postinstall.sh", "2"}, {"preremove.sh", "0"}, {"postremove.sh", "0"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "systemctl"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "install"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join("scripts", tc.script))
		if err != nil {
			t.Fatal(err)
		}
		body := strings.ReplaceAll(string(raw), "/run/systemd/system", dir) // the guard holds
		p := filepath.Join(dir, "s.sh")
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/sh", p, tc.arg)
		cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s %s with a failing systemctl: %v\n%s", tc.script, tc.arg, err, out)
		}
	}
}

// TestMaintainerScripts checks that every systemctl call is guarded (no
// systemd in containers and chroots) and cannot fail the package operation.
func TestMaintainerScriptsGuardSystemctl(t *testing.T) {
	scripts, err := filepath.Glob("scripts/*.sh")
	if err != nil || len(scripts) != 4 {
		t.Fatalf("scripts: %v, %v; want pre/post install/remove", scripts, err)
	}
	for _, s := range scripts {
		raw, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if !strings.HasPrefix(text, "#!/bin/sh\n") {
			t.Errorf("%s: want a #!/bin/sh script", s)
		}
		depth, guardDepth := 0, 0 // if-nesting depth; depth of the innermost systemd guard (0: none)
		for i, l := range strings.Split(text, "\n") {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "if "):
				depth++
				if strings.HasPrefix(l, "if [ -d /run/systemd/system ]") && guardDepth == 0 {
					guardDepth = depth
				}
			case l == "fi":
				if depth == guardDepth {
					guardDepth = 0
				}
				depth--
			}
			if strings.HasPrefix(l, "systemctl ") {
				if guardDepth == 0 {
					t.Errorf("%s:%d: systemctl outside the [ -d /run/systemd/system ] guard", s, i+1)
				}
				if !strings.HasSuffix(l, "|| true") {
					t.Errorf("%s:%d: systemctl without || true", s, i+1)
				}
			}
		}
	}
}
