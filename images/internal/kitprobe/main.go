// kitprobe runs only in the QEMU test images: it reads roomd's status
// through the local control API (which stays on loopback) and reports it,
// with roomd's memory and the time since boot, as one JSON line per second
// on a serial port that the host test reads. A gokrazy service's stdout
// goes to gokrazy's log, not to a console, hence the explicit device.
// With -control it also carries out the host's actions: A/B update steps
// (update.go) and, for the kit test, taps on a uhid touch screen and the
// camera's removal (kit.go); with -forward it makes roomd's control API
// reachable through QEMU's host forward.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The control API's address and credential file (appliance/control's
// DefaultAddr and TokenFile). The probe speaks plain HTTP rather than
// importing that package, whose dependencies need cgo: the probe stays a
// pure-Go build.
const (
	controlAddr = "127.0.0.1:7444"
	tokenFile   = "control.token"
)

// Report is one line the probe writes after "kitprobe ".
type Report struct {
	Uptime   float64 `json:"uptime"` // seconds since the kernel started
	State    string  `json:"state,omitempty"`
	UserCode string  `json:"user_code,omitempty"`
	RoomName string  `json:"room_name,omitempty"`
	RoomdRSS int     `json:"roomd_rss_kb,omitempty"`
	// The resident set's anonymous part (heap, stacks, C allocations) and
	// file-backed part (the binary's pages): they shrink for different
	// reasons.
	RoomdAnon int `json:"roomd_rss_anon_kb,omitempty"`
	RoomdFile int `json:"roomd_rss_file_kb,omitempty"`
	// Of the file-backed part, device memory mapped from /dev (a camera's
	// V4L2 buffers count; the EFI framebuffer, I/O memory, does not).
	RoomdDev int     `json:"roomd_rss_dev_kb,omitempty"`
	RoomdCPU float64 `json:"roomd_cpu_s,omitempty"` // user+system CPU time so far
	Root     string  `json:"root,omitempty"`        // the root file system's device, e.g. vda2 (A/B)
	Version  string  `json:"version,omitempty"`     // the root's build (/etc/gokrazy/sbom.json)
	BootID   string  `json:"boot_id,omitempty"`     // changes with every boot
	Cmdline  string  `json:"cmdline,omitempty"`     // the kernel's command line
	Error    string  `json:"error,omitempty"`
	// Done is the ID of the last action carried out (a reboot follows
	// when it asked for one); ActionError says why one failed.
	Done        string `json:"done,omitempty"`
	ActionError string `json:"action_error,omitempty"`
}

func main() {
	out := flag.String("out", "/dev/ttyS1", "where to write reports")
	state := flag.String("state", "/perm/roomkit", "roomd's state directory")
	control := flag.String("control", "", "the host test's control server (A/B actions); empty: none")
	fwd := flag.String("forward", "", "forward this listen address to roomd's control API (the kit test's roomctl); empty: none")
	roomdLog := flag.Bool("roomd-log", false, "copy roomd's log lines to -out too")
	cameraAtStart := flag.String("camera-at-start", "", "unbind: take vivid away as soon as the probe starts (an image whose camera is gone, for the update test's rollback)")
	flag.Parse()
	if *cameraAtStart != "" {
		if err := camera(*cameraAtStart); err != nil {
			fmt.Fprintf(os.Stderr, "kitprobe: %v\n", err)
		}
	}
	f, err := os.OpenFile(*out, os.O_WRONLY, 0)
	if err != nil {
		os.Exit(1)
	}
	if *fwd != "" {
		if err := forward(*fwd); err != nil {
			fmt.Fprintf(f, "kitprobe forward: %v\n", err)
		}
	}
	var mu sync.Mutex // one line at a time on the port
	if *roomdLog {
		go copyRoomdLog(context.Background(), f, &mu)
	}
	var u *updater
	if *control != "" {
		u = newUpdater(*control, gokrazySocket)
	}
	var done, actionErr string
	report := func() {
		r := probe(*state)
		r.Done, r.ActionError = done, actionErr
		b, _ := json.Marshal(r)
		mu.Lock()
		f.Write(append([]byte("kitprobe "), append(b, '\n')...))
		mu.Unlock()
	}
	ctx := context.Background()
	for {
		report()
		time.Sleep(time.Second)
		if u == nil {
			continue
		}
		a, err := u.next(ctx)
		if err != nil || a == nil {
			continue // the host has nothing for us (or is not there yet)
		}
		if err := u.run(ctx, a); err != nil {
			actionErr = fmt.Sprintf("%s: %v", a.ID, err)
			continue
		}
		done = a.ID
		if a.Reboot {
			report() // the reboot stops the probe
			if err := u.reboot(ctx, a.Kexec); err != nil {
				actionErr = fmt.Sprintf("%s: %v", a.ID, err)
			}
		}
	}
}

func probe(state string) Report {
	var r Report
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		r.Uptime, _ = strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	}
	r.RoomdRSS, r.RoomdAnon, r.RoomdFile, r.RoomdCPU = usageOf("roomd")
	r.RoomdDev = devicePagesOf("roomd")
	r.Root = rootDevice()
	r.Version = rootVersion()
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		r.BootID = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cmdline"); err == nil {
		r.Cmdline = strings.Join(strings.Fields(string(b)), " ")
	}
	tok, err := os.ReadFile(filepath.Join(state, tokenFile))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+controlAddr+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer resp.Body.Close()
	var s struct {
		State    string `json:"state"`
		UserCode string `json:"user_code"`
		RoomName string `json:"room_name"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		r.Error = fmt.Sprintf("status: %s: %v", resp.Status, err)
		return r
	}
	r.State, r.UserCode, r.RoomName = s.State, s.UserCode, s.RoomName
	return r
}

// usageOf returns the resident memory (kB: all, anonymous, file-backed) and the CPU time (s) of the
// process called name.
func usageOf(name string) (rssKB, anonKB, fileKB int, cpu float64) {
	pid := pidOf(name)
	if pid == 0 {
		return 0, 0, 0, 0
	}
	dir := fmt.Sprintf("/proc/%d", pid)
	b, err := os.ReadFile(dir + "/status")
	if err != nil {
		return 0, 0, 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		switch k {
		case "VmRSS":
			rssKB = n
		case "RssAnon":
			anonKB = n
		case "RssFile":
			fileKB = n
		}
	}
	return rssKB, anonKB, fileKB, cpuSeconds(dir + "/stat")
}

// devicePagesOf returns the resident kB of the process's mappings of
// files under /dev, from /proc/PID/smaps.
func devicePagesOf(name string) int {
	pid := pidOf(name)
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return 0
	}
	kb, dev := 0, false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			// A mapping's header: address range, perms, offset, device, inode[, path].
			dev = len(f) >= 6 && strings.HasPrefix(f[5], "/dev/")
		case dev && len(f) >= 2 && f[0] == "Rss:":
			n, _ := strconv.Atoi(f[1])
			kb += n
		}
	}
	return kb
}

// pidOf returns the PID of the process called name, or 0.
func pidOf(name string) int {
	paths, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the first line is Name:
		k, v, _ := strings.Cut(sc.Text(), ":")
		f.Close()
		if k == "Name" && strings.TrimSpace(v) == name {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	return 0
}

// cpuSeconds reads utime+stime from a /proc/PID/stat file. The fields
// after the command (which may hold spaces) are counted from its ")".
func cpuSeconds(stat string) float64 {
	b, err := os.ReadFile(stat)
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, which Linux fixes at 100 on every architecture
// the kit runs on.
const clockTicks = 100

// rootDevice returns the block device that holds / (e.g. vda2), from the
// root's device number: after gokrazy's trial boot the kernel's root= still
// names the first root while init runs from the other one.
func rootDevice() string {
	var st syscall.Stat_t
	if err := syscall.Stat("/", &st); err != nil {
		return ""
	}
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	b, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/uevent", major, minor))
	if err != nil {
		return fmt.Sprintf("%d:%d", major, minor)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "DEVNAME="); ok {
			return name
		}
	}
	return fmt.Sprintf("%d:%d", major, minor)
}

// rootVersion is the build name images.Build wrote into the root.
func rootVersion() string {
	b, err := os.ReadFile("/etc/gokrazy/sbom.json")
	if err != nil {
		return ""
	}
	var s struct {
		SBOM struct {
			Version string `json:"version"`
		} `json:"sbom"`
	}
	json.Unmarshal(b, &s)
	return s.SBOM.Version
}
