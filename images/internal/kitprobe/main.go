// kitprobe runs only in the QEMU test images: it reads roomd's status
// through the local control API (which stays on loopback) and reports it,
// with roomd's memory and the time since boot, as one JSON line per second
// on a serial port that the host test reads. A gokrazy service's stdout
// goes to gokrazy's log, not to a console, hence the explicit device.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	Root     string  `json:"root,omitempty"` // the root device (A/B)
	Error    string  `json:"error,omitempty"`
}

func main() {
	out := flag.String("out", "/dev/ttyS1", "where to write reports")
	state := flag.String("state", "/perm/roomkit", "roomd's state directory")
	flag.Parse()
	f, err := os.OpenFile(*out, os.O_WRONLY, 0)
	if err != nil {
		os.Exit(1)
	}
	for {
		r := probe(*state)
		b, _ := json.Marshal(r)
		f.Write(append([]byte("kitprobe "), append(b, '\n')...))
		time.Sleep(time.Second)
	}
}

func probe(state string) Report {
	var r Report
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		r.Uptime, _ = strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	}
	r.RoomdRSS = rssOf("roomd")
	r.Root = rootDevice()
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

// rssOf returns the resident memory (kB) of the process called name.
func rssOf(name string) int {
	paths, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		match := false
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			v = strings.TrimSpace(v)
			if k == "Name" {
				match = v == name
			}
			if match && k == "VmRSS" {
				f.Close()
				n, _ := strconv.Atoi(strings.Fields(v)[0])
				return n
			}
		}
		f.Close()
	}
	return 0
}

// rootDevice returns the device mounted on /.
func rootDevice() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 9 && f[4] == "/" {
			for i, x := range f {
				if x == "-" && i+2 < len(f) {
					return f[i+2]
				}
			}
		}
	}
	return ""
}
