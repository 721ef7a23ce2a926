//go:build linux

package proxybench

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// process is a peer we started; stop ends it (by its pid) and waits.
type process struct {
	cmd *exec.Cmd
	out *strings.Builder
}

func start(name string, args ...string) (*process, error) {
	cmd := exec.Command(name, args...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &process{cmd: cmd, out: out}, nil
}

func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// waitListening waits until addr accepts connections.
func waitListening(addr string, d time.Duration) error {
	end := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("%s not listening after %v: %v", addr, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startNginx serves /1k (1024 bytes) and /1m (1 MiB) from dir on addr,
// as an upstream is run: workers per core, sendfile, no access log,
// unlimited keep-alive requests.
func startNginx(dir, addr string) (*process, error) {
	os.WriteFile(filepath.Join(dir, "1k"), make([]byte, 1<<10), 0o644)
	os.WriteFile(filepath.Join(dir, "1m"), make([]byte, 1<<20), 0o644)
	conf := fmt.Sprintf(`worker_processes %d;
user root;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 8192; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	types { }
	default_type application/octet-stream;
	server {
		listen %[3]s backlog=4096;
		root %[2]s;
	}
}
`, runtime.NumCPU(), dir, addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := start("nginx", "-p", dir, "-c", path, "-g", "daemon off;")
	if err != nil {
		return nil, err
	}
	if err := waitListening(addr, 10*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("nginx: %v\n%s", err, p.out.String())
	}
	return p, nil
}

// startHAProxy runs HAProxy in mode tcp from front to upstream as its
// users run it at its best: a thread per core, splicing where it helps
// (splice-auto), no logging, no connection limit in the way.
func startHAProxy(dir, front, upstream string) (*process, error) {
	conf := fmt.Sprintf(`global
	nbthread %d
	maxconn 4000
	tune.bufsize 65536
defaults
	mode tcp
	option splice-auto
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	maxconn 4000
frontend bench
	bind %s backlog 4096
	default_backend up
backend up
	server nginx %s
`, runtime.NumCPU(), front, upstream)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := start("haproxy", "-db", "-f", path)
	if err != nil {
		return nil, err
	}
	if err := waitListening(front, 10*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("haproxy: %v\n%s", err, p.out.String())
	}
	return p, nil
}

// startMirago runs the proxy binary on its own TAP (it creates it), with
// the kernel side at kernel/24 and the proxy at ours, forwarding port
// 8080 to upstream, without limits; it returns once the proxy answers.
func startMirago(bin, tapName string, kernel, ours, upstream string, extra []string) (*process, error) {
	args := append([]string{"-tap", tapName, "-ip", ours + "/24", "-gw", "", "-log", "warn",
		"-listen", "8080", "-upstream", upstream, "-allow", "0.0.0.0/0",
		"-max-conns", "0", "-max-per-client", "0", "-idle-timeout", "0", "-connect-timeout", "5s"}, extra...)
	p, err := start(bin, args...)
	if err != nil {
		return nil, err
	}
	end := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat("/sys/class/net/" + tapName); err == nil {
			break
		}
		if time.Now().After(end) {
			p.stop()
			return nil, fmt.Errorf("mirago did not create %s\n%s", tapName, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, args := range [][]string{{"addr", "add", kernel + "/24", "dev", tapName}, {"link", "set", tapName, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			p.stop()
			return nil, fmt.Errorf("ip %v: %v: %s", args, err, out)
		}
	}
	if err := waitListening(ours+":8080", 15*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("mirago: %v\n%s", err, p.out.String())
	}
	return p, nil
}
