//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// testTimeout bounds one test binary, so a hung driver fails the run with
// a stack dump instead of running into smoke.sh's QEMU timeout.
const testTimeout = "180s"

// runTests runs each *.test in dir with only its TestKernel tests, the way
// `go test -v -run ^TestKernel` would, and reports on the console:
//
//	TEST <name>: <each line of its output>
//	TEST <name> exit: ok | <error>
//	TESTS done
//
// Test binaries dropped into the directory are picked up without changing
// anything here.
func runTests(dir string) {
	bins, _ := filepath.Glob(filepath.Join(dir, "*.test")) // the pattern is valid
	if len(bins) == 0 {
		return
	}
	// Keep the kernel's chatter (vivid being unbound and bound, USB) off
	// the console while tests print: it would land inside their lines.
	// Errors and worse still show.
	if err := os.WriteFile("/proc/sys/kernel/printk", []byte("4"), 0); err != nil {
		fmt.Printf("SMOKE error: console log level: %v\n", err)
	}
	for _, dir := range []string{"/tmp", "/work"} {
		if err := os.MkdirAll(dir, 0o1777); err != nil {
			fmt.Printf("SMOKE error: mkdir %s: %v\n", dir, err)
		}
	}
	for _, bin := range bins {
		runTest(bin)
	}
	fmt.Println("TESTS done")
}

func runTest(bin string) {
	name := filepath.Base(bin)
	fmt.Printf("TEST %s start\n", name)
	// Each binary runs in its own empty directory: t.TempDir and files a
	// test writes stay apart.
	work := filepath.Join("/work", name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		fmt.Printf("TEST %s exit: %v\n", name, err)
		return
	}
	cmd := exec.Command(bin, "-test.v", "-test.run", "^TestKernel", "-test.count=1", "-test.timeout", testTimeout)
	cmd.Dir = work
	cmd.Env = []string{"ROOMKIT_KERNEL_TEST=1", "PATH=/tests", "HOME=/tmp", "TMPDIR=/tmp"}
	pr, pw, err := os.Pipe()
	if err != nil {
		fmt.Printf("TEST %s exit: pipe: %v\n", name, err)
		return
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err == nil {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Printf("TEST %s: %s\n", name, sc.Text())
		}
		if serr := sc.Err(); serr != nil {
			fmt.Printf("TEST %s: (reading its output: %v)\n", name, serr)
			io.Copy(io.Discard, pr) // let it finish rather than block on a full pipe
		}
		err = cmd.Wait()
	}
	pr.Close()
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	fmt.Printf("TEST %s exit: %s (%.1fs)\n", name, result, time.Since(start).Seconds())
}
