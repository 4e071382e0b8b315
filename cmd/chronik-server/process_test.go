package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests run the real binary, built once per test run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chronik-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "chronik-server")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort asks the kernel for an unused loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a goroutine-safe log sink for a child process.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serverProc is a chronik-server child process on loopback ports.
type serverProc struct {
	t         *testing.T
	cmd       *exec.Cmd
	dataDir   string
	kafkaPort int
	httpPort  int
	nodePort  int
	logs      *syncBuffer
	exited    chan struct{}
	waitErr   error
}

func (p *serverProc) kafkaAddr() string { return "127.0.0.1:" + strconv.Itoa(p.kafkaPort) }
func (p *serverProc) httpURL() string   { return "http://127.0.0.1:" + strconv.Itoa(p.httpPort) }

// startServer runs `chronik-server start` on dataDir with fresh ports and waits until /health answers.
func startServer(t *testing.T, dataDir string, extra ...string) *serverProc {
	t.Helper()
	p := &serverProc{t: t, dataDir: dataDir, kafkaPort: freePort(t), httpPort: freePort(t), nodePort: freePort(t), logs: &syncBuffer{}, exited: make(chan struct{})}
	if err := p.launch(extra...); err != nil {
		t.Fatal(err)
	}
	if err := p.waitHealthy(30 * time.Second); err != nil {
		p.kill()
		t.Fatalf("%v\nserver log:\n%s", err, p.logs.String())
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("server log (%s):\n%s", p.dataDir, p.logs.String())
		}
	})
	return p
}

// hermeticEnv is the test's environment without CHRONIK_* variables, which the server would
// read as configuration (and reject when unknown).
func hermeticEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHRONIK_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *serverProc) launch(extra ...string) error {
	args := append([]string{"start",
		"--data-dir", p.dataDir,
		"--bind-host", "127.0.0.1",
		"--kafka-port", strconv.Itoa(p.kafkaPort),
		"--http-port", strconv.Itoa(p.httpPort),
		"--node-addr", "127.0.0.1:" + strconv.Itoa(p.nodePort),
	}, extra...)
	p.cmd = exec.Command(serverBinary(p.t), args...)
	p.cmd.Env = hermeticEnv()
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	p.exited = make(chan struct{})
	if err := p.cmd.Start(); err != nil {
		return err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return nil
}

// restart starts the same data dir and ports again after a stop or kill.
func (p *serverProc) restart(extra ...string) {
	p.t.Helper()
	if err := p.launch(extra...); err != nil {
		p.t.Fatal(err)
	}
	if err := p.waitHealthy(30 * time.Second); err != nil {
		p.t.Fatalf("%v\nserver log:\n%s", err, p.logs.String())
	}
}

func (p *serverProc) waitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("chronik-server exited before it was healthy: %v", p.waitErr)
		default:
		}
		resp, err := http.Get(p.httpURL() + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("chronik-server not healthy after %s", timeout)
}

// kill sends SIGKILL and waits for the process to go.
func (p *serverProc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serverProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(30 * time.Second):
		p.kill()
		return fmt.Errorf("chronik-server did not exit within 30s of SIGTERM")
	}
}
