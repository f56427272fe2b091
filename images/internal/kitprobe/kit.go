package main

// The probe's third job, for the QEMU kit test on the test kernel: it
// forwards the control API to QEMU's host forward (roomd's API stays on
// loopback; the host test drives roomd with roomctl through this), and it
// acts on the guest's virtual devices: taps on a uhid multitouch screen
// and vivid's removal and return.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"roomkit/drivers/input/uhid"
)

// forward accepts connections on listen and joins each to roomd's control
// API.
func forward(listen string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", controlAddr)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return nil
}

// Tap is a touch on the uhid screen, in screen pixels of a screen of
// Width×Height (the probe scales it to the device's logical range).
type Tap struct {
	X, Y, Width, Height int
}

// touchMax is the uhid screen's logical range on both axes: not the
// screen's pixels, so roomd must scale.
const touchMax = 4095

var (
	touchOnce sync.Once
	touch     *uhid.Touchscreen
	touchErr  error
)

// tap touches the uhid screen, creating it on first use; it stays for
// the rest of the boot, as a kit's panel would.
func tap(p Tap) error {
	touchOnce.Do(func() {
		touch, touchErr = uhid.NewTouchscreen("RoomKit Test Touchscreen", touchMax, touchMax)
		if touchErr != nil {
			return
		}
		// A tap before roomd has the new device open would be lost.
		// roomd's scan opens it once to look at it first, so the wait
		// ends a moment early: hence the pause.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if touchErr = touch.WaitOpen(ctx); touchErr == nil {
			time.Sleep(3 * time.Second)
		}
	})
	if touchErr != nil {
		return fmt.Errorf("uhid touchscreen: %w", touchErr)
	}
	if p.Width < 2 || p.Height < 2 {
		return fmt.Errorf("tap: screen size %dx%d", p.Width, p.Height)
	}
	return touch.Tap(p.X*touchMax/(p.Width-1), p.Y*touchMax/(p.Height-1))
}

// vividDevice is vivid's platform device: unbinding it from its driver
// removes its video nodes, as unplugging a USB camera does; binding it
// brings them back.
const vividDevice = "vivid.0"

func camera(op string) error {
	switch op {
	case "unbind", "bind":
	default:
		return fmt.Errorf("camera: unknown operation %q (want unbind or bind)", op)
	}
	path := "/sys/bus/platform/drivers/vivid/" + op
	if err := os.WriteFile(path, []byte(vividDevice), 0o200); err != nil {
		return fmt.Errorf("camera %s: %w", op, err)
	}
	return nil
}

// copyRoomdLog copies roomd's log lines (stdout and stderr, from
// gokrazy's ring buffers on) to w, prefixed "roomd ", for the host's
// artifacts: a failing kit test then shows what roomd said.
func copyRoomdLog(ctx context.Context, w io.Writer, mu *sync.Mutex) {
	c := unixClient(gokrazySocket)
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://gokrazy/log?path=/user/roomd&stream=both", nil)
		if resp, err := c.Do(req); err == nil {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				mu.Lock()
				fmt.Fprintf(w, "roomd %s\n", sc.Text())
				mu.Unlock()
			}
			resp.Body.Close()
		}
		time.Sleep(time.Second) // gokrazy not up yet, or roomd restarted
	}
}

// signalRoomd sends sig to the process called roomd.
func signalRoomd(sig syscall.Signal) error {
	pid := pidOf("roomd")
	if pid == 0 {
		return fmt.Errorf("no roomd process")
	}
	return syscall.Kill(pid, sig)
}
