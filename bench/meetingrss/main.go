// Command meetingrss measures roomd's memory in a meeting with remote
// video participants: the resident set of the roomd process alone, not of
// a test process that also runs the portal, LiveKit and the publishers.
//
// It builds nothing: it runs the binaries of `make build`. It starts
// bin/portal with a local livekit-server (-livekit dev) on loopback in a
// temporary directory, pairs bin/roomd -devices sim (in-memory screen)
// through the admin REST API, starts a Meet Now meeting through roomd's
// control API as roomctl would, joins N guests on the LiveKit Go SDK that
// publish a synthetic H.264 camera (and an Opus tone), waits until roomd
// shows all N pictures, then samples roomd's VmRSS and VmHWM from
// /proc/<pid>/status once a second and prints a table.
//
//	make build
//	go run ./bench/meetingrss [-participants 6] [-seconds 20] [-size 320x240] [-godebug gctrace=1]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/appliance"
	"roomkit/appliance/control"
	"roomkit/appliance/meeting/meetingtest"
)

func main() {
	bin := flag.String("bin", "bin", "folder with portal and roomd (make build)")
	participants := flag.Int("participants", 6, "remote participants publishing video")
	seconds := flag.Int("seconds", 20, "how long to sample once all pictures are shown")
	size := flag.String("size", "320x240", "the participants' video: 320x240 or 640x480")
	audio := flag.Bool("audio", true, "the participants also publish an Opus tone")
	godebug := flag.String("godebug", "", "GODEBUG for roomd, e.g. gctrace=1 (its log is kept then)")
	var env envFlag
	flag.Var(&env, "env", "an environment variable for roomd, e.g. -env GOGC=50 or -env GOMEMLIMIT=100MiB (repeatable)")
	keep := flag.Bool("keep", false, "keep the temporary directory (logs, state)")
	flag.Parse()
	var w, h int
	switch *size {
	case "320x240":
		w, h = 320, 240
	case "640x480":
		w, h = 640, 480
	default:
		fmt.Fprintf(os.Stderr, "meetingrss: -size %q: want 320x240 or 640x480\n", *size)
		os.Exit(2)
	}
	lksdk.SetLogger(protologger.GetDiscardLogger()) // it logs every ICE state change
	b := &bench{bin: *bin, participants: *participants, seconds: *seconds, w: w, h: h, audio: *audio, godebug: *godebug, env: env}
	err := b.run()
	if b.dir != "" {
		if *keep || *godebug != "" || err != nil {
			fmt.Fprintf(os.Stderr, "meetingrss: logs and state kept in %s\n", b.dir)
		} else {
			os.RemoveAll(b.dir)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "meetingrss:", err)
		os.Exit(1)
	}
}

type bench struct {
	bin          string
	participants int
	seconds      int
	w, h         int
	audio        bool
	godebug      string
	env          []string

	dir        string
	portalURL  string
	adminToken string // a secret: never printed
}

func (b *bench) run() error {
	for _, name := range []string{"portal", "roomd"} {
		if _, err := os.Stat(filepath.Join(b.bin, name)); err != nil {
			return fmt.Errorf("no %s: run `make build` first (%w)", filepath.Join(b.bin, name), err)
		}
	}
	var err error
	if b.dir, err = os.MkdirTemp("", "meetingrss-"); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	portalData := filepath.Join(b.dir, "portal")
	out, err := exec.Command(filepath.Join(b.bin, "portal"), "token", "create", "-data", portalData, "-name", "meetingrss").Output()
	if err != nil {
		return fmt.Errorf("portal token create: %w", err)
	}
	b.adminToken = strings.TrimSpace(string(out))

	portal, err := b.startPortal(portalData)
	if err != nil {
		return err
	}
	defer stop(portal)

	kitDir := filepath.Join(b.dir, "kit")
	sock := "unix:" + filepath.Join(b.dir, "control.sock")
	roomd, err := b.start("roomd", []string{"-devices", "sim", "-state", kitDir, "-portal", b.portalURL, "-control", sock}, b.roomdEnv())
	if err != nil {
		return err
	}
	defer stop(roomd)

	kit, err := b.pair(ctx, kitDir, sock)
	if err != nil {
		return err
	}
	idle, err := sample(roomd.Process.Pid, 3, nil)
	if err != nil {
		return err
	}

	st, err := kit.MeetNow(ctx)
	if err != nil {
		return fmt.Errorf("meet now: %w", err)
	}
	id := st.Meeting.ID
	if len(b.env) > 0 {
		fmt.Printf("roomd's environment adds %s\n", strings.Join(b.env, " "))
	}
	fmt.Printf("roomd (pid %d) in meeting %s; joining %d participants with %dx%d H.264%s\n",
		roomd.Process.Pid, id, b.participants, b.w, b.h, map[bool]string{true: " and Opus", false: ""}[b.audio])
	for i := range b.participants {
		url, token, err := b.guestJoin(id, fmt.Sprintf("Guest %d", i+1))
		if err != nil {
			return err
		}
		room, err := lksdk.ConnectToRoomWithToken(url, token, lksdk.NewRoomCallback(), lksdk.WithAutoSubscribe(false))
		if err != nil {
			return fmt.Errorf("guest %d: connect: %w", i+1, err)
		}
		defer room.Disconnect()
		if err := meetingtest.Publish(ctx, room, b.w, b.h, b.audio); err != nil {
			return fmt.Errorf("guest %d: %w", i+1, err)
		}
	}
	if err := waitPictures(ctx, kit, b.participants, 90*time.Second); err != nil {
		return err
	}
	pictures := func() (int, error) {
		st, err := kit.Status(ctx)
		if err != nil {
			return 0, err
		}
		return countPictures(st), nil
	}
	meet, err := sample(roomd.Process.Pid, b.seconds, pictures)
	if err != nil {
		return err
	}
	if st, err := kit.Status(ctx); err != nil || st.State != appliance.InMeeting {
		return fmt.Errorf("roomd left the meeting while sampling: %v %v", st.State, err)
	}
	printTable(os.Stdout, []row{
		{"0 (ready, idle)", idle},
		{fmt.Sprintf("%d × %dx%d", b.participants, b.w, b.h), meet},
	})
	return nil
}

// startPortal runs bin/portal on a free loopback port and waits for the
// line that says where it listens (printed once LiveKit is up).
func (b *bench) startPortal(data string) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(b.dir, "portal.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(b.bin, "portal"), "-listen", "127.0.0.1:0", "-data", data, "-livekit", "dev",
		"-assets", filepath.Join(b.dir, "no-assets"))
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start portal: %w", err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if u, ok := strings.CutPrefix(sc.Text(), "portal listening on "); ok {
				found <- u
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			cmd.Wait()
			return nil, fmt.Errorf("the portal exited; see %s", log.Name())
		}
		b.portalURL = u
		return cmd, nil
	case <-time.After(60 * time.Second):
		stop(cmd)
		return nil, fmt.Errorf("the portal did not start within a minute; see %s", log.Name())
	}
}

// roomdEnv is the bench's environment with -godebug and -env added.
func (b *bench) roomdEnv() []string {
	env := os.Environ()
	if b.godebug != "" {
		env = append(env, "GODEBUG="+b.godebug)
	}
	return append(env, b.env...)
}

// envFlag collects repeated -env NAME=value flags.
type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }

func (e *envFlag) Set(v string) error {
	if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
		return fmt.Errorf("%q: want NAME=value", v)
	}
	*e = append(*e, v)
	return nil
}

// start runs bin/name with its log in the temporary directory.
func (b *bench) start(name string, args []string, env []string) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(b.bin, name), args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return cmd, nil
}

// stop asks a child to shut down (the portal stops its livekit-server)
// and waits for it, killing it if it takes too long.
func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// pair waits for roomd's user code on its control API and approves it
// through the portal's admin API, as an administrator would.
func (b *bench) pair(ctx context.Context, kitDir, sock string) (*control.Client, error) {
	var kit *control.Client
	var st appliance.Status
	err := poll(30*time.Second, "roomd to show a pairing code", func() (bool, error) {
		var err error
		if kit == nil {
			if kit, err = control.Dial(sock, kitDir); err != nil {
				return false, nil // roomd has not written its credential yet
			}
		}
		if st, err = kit.Status(ctx); err != nil {
			return false, nil
		}
		return st.State == appliance.Pairing && strings.TrimSpace(st.UserCode) != "", nil
	})
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]string{"user_code": st.UserCode, "name": "Bench room", "location": "Bench"})
	code, resp, err := b.post("/api/v1/admin/pairings", "Bearer "+b.adminToken, body)
	if err != nil {
		return nil, fmt.Errorf("pair: %w", err)
	}
	if code != http.StatusCreated {
		return nil, fmt.Errorf("pair: HTTP %d %s", code, resp)
	}
	err = poll(30*time.Second, "roomd to be ready", func() (bool, error) {
		st, err := kit.Status(ctx)
		return err == nil && st.State == appliance.Ready && st.PortalConnected, nil
	})
	return kit, err
}

// guestJoin asks the portal to let a guest into the meeting.
func (b *bench) guestJoin(id, name string) (url, token string, err error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	code, resp, err := b.post("/api/v1/meetings/"+id+"/join", "", body)
	if err != nil {
		return "", "", fmt.Errorf("%s: join: %w", name, err)
	}
	var a struct{ URL, Token, Error string }
	json.Unmarshal(resp, &a)
	if code != http.StatusOK {
		return "", "", fmt.Errorf("%s: join: HTTP %d %s", name, code, a.Error)
	}
	return a.URL, a.Token, nil
}

func (b *bench) post(path, auth string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, b.portalURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b2, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b2, err
}

func countPictures(st appliance.Status) int {
	n := 0
	if st.Meeting != nil {
		for _, t := range st.Meeting.Tiles {
			if t.Picture {
				n++
			}
		}
	}
	return n
}

func waitPictures(ctx context.Context, kit *control.Client, n int, within time.Duration) error {
	var last int
	err := poll(within, fmt.Sprintf("roomd to show %d pictures", n), func() (bool, error) {
		st, err := kit.Status(ctx)
		if err != nil {
			return false, err
		}
		last = countPictures(st)
		return last >= n, nil
	})
	if err != nil {
		return fmt.Errorf("%w (it shows %d)", err, last)
	}
	return nil
}

// poll calls cond every 100 ms until it holds, fails, or within passes.
func poll(within time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %v for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
