package gokrazytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"roomkit/ota/gokrazy"
)

func TestFakeBootRules(t *testing.T) {
	ctx := context.Background()
	f := NewFake(t)
	rebooted := make(chan struct{}, 4)
	f.OnReboot = func() { rebooted <- struct{}{} }
	c := f.Client()

	img := bytes.Repeat([]byte("root v2 "), 1000)
	sum, err := c.PutRoot(ctx, bytes.NewReader(img), int64(len(img)))
	want := sha256.Sum256(img)
	if err != nil || sum != hex.EncodeToString(want[:]) {
		t.Fatalf("PutRoot = %s, %v", sum, err)
	}
	if !bytes.Equal(f.Root(), img) {
		t.Fatal("Root() is not what was written")
	}
	step := func(name string, fn func(context.Context) error) {
		t.Helper()
		if err := fn(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	step("testboot", c.TestBoot)
	step("reboot", c.Reboot)
	<-rebooted
	if b := f.Booted(); b.Running != 3 || b.Cmdline != 2 || b.Try {
		t.Fatalf("trial boot: %+v", b)
	}
	if _, err := c.PutRoot(ctx, strings.NewReader("x"), 1); !errors.Is(err, gokrazy.ErrRootInUse) {
		t.Fatalf("PutRoot in a trial: %v", err)
	}
	// A reboot without switch (or a power cut: a new Fake) returns.
	f2, err := New(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	f2.Close()
	f, err = New(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if b := f.Booted(); b.Running != 2 || b.Cmdline != 2 {
		t.Fatalf("after a cut in the trial: %+v", b)
	}
	c = f.Client()
	step("testboot", c.TestBoot)
	step("reboot", c.Reboot)
	if b := f.Booted(); b.Running != 3 || b.Cmdline != 2 {
		t.Fatalf("second trial: %+v", b)
	}
	step("switch", c.Switch)
	step("reboot", c.Reboot)
	if b := f.Booted(); b.Running != 3 || b.Cmdline != 3 || b.Root != 3 {
		t.Fatalf("after the switch: %+v", b)
	}
	got, _ := f.Slot(3)
	if !bytes.Equal(got, img) {
		t.Fatal("slot 3 lost the image")
	}
	if want := []string{"POST /update/testboot", "POST /reboot", "POST /update/switch", "POST /reboot"}; !slices.Equal(f.Calls(), want) {
		t.Fatalf("calls %q, want %q", f.Calls(), want)
	}
}

func TestFakeFailures(t *testing.T) {
	ctx := context.Background()
	img := bytes.Repeat([]byte{7}, 100_000)
	for _, tt := range []struct {
		name    string
		arrange func(*Fake)
		want    string
		written int
	}{
		{"full partition", func(f *Fake) { f.SlotSize = 60_000 }, "no space left on device", 60_000},
		{"dropped connection", func(f *Fake) { f.DropAfter(40_000) }, "gokrazy PUT /update/root", 40_000},
		{"error answer", func(f *Fake) { f.FailNext("/update/root", "open /dev/vda3: permission denied") }, "permission denied", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(t)
			tt.arrange(f)
			_, err := f.Client().PutRoot(ctx, bytes.NewReader(img), int64(len(img)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if got := len(f.Root()); got != tt.written {
				t.Fatalf("wrote %d bytes, want %d", got, tt.written)
			}
			// What was written stays readable, for a resumed download.
			r, err := f.Client().ReadInactive()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(io.LimitReader(r, int64(tt.written)))
			r.Close()
			if !bytes.Equal(b, img[:tt.written]) {
				t.Fatal("read back differs")
			}
		})
	}
}

func TestBootedImage(t *testing.T) {
	f := NewFake(t)
	if _, ok := f.BootedImage(); ok {
		t.Fatal("a blank root has a header")
	}
	img := append([]byte(`{"roomkit_sim_image":1,"version":"0.2.0","unhealthy":true}`+"\n"), make([]byte, 8<<10)...)
	c := f.Client()
	ctx := context.Background()
	if _, err := c.PutRoot(ctx, bytes.NewReader(img), int64(len(img))); err != nil {
		t.Fatal(err)
	}
	c.TestBoot(ctx)
	c.Reboot(ctx)
	got, ok := f.BootedImage()
	if !ok || got.Version != "0.2.0" || !got.Unhealthy {
		t.Fatalf("%+v %v", got, ok)
	}
}

// TestFakeMarkersAccumulate: like gokrazy, the fake keeps its markers on
// the command line; with the first images' 64 bytes of padding the third
// trial boot silently does not happen unless the files are cleaned.
func TestFakeMarkersAccumulate(t *testing.T) {
	for _, clean := range []bool{false, true} {
		t.Run(map[bool]string{false: "unclean", true: "cleaned"}[clean], func(t *testing.T) {
			ctx := context.Background()
			f := NewFake(t)
			c := f.Client()
			for round := 1; round <= 5; round++ {
				// A power cut is a reboot too: reopen the disk, which applies the boot rules.
				reboot := func() {
					f.Close()
					var err error
					if f, err = New(f.Dir); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { f.Close() })
					c = f.Client()
				}
				if clean {
					if err := c.CleanBootFiles(); err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if err := c.TestBoot(ctx); err != nil {
					t.Fatal(err)
				}
				reboot()
				trial := f.Booted().Running != f.Booted().Cmdline
				if want := clean || round < 3; trial != want {
					t.Fatalf("round %d: trial boot %v, want %v; cmdline.txt %q", round, trial, want, f.Booted().File)
				}
				if !trial {
					return
				}
				if err := c.Switch(ctx); err != nil {
					t.Fatal(err)
				}
				reboot()
			}
		})
	}
}

func TestFakeCleanBootRefusesInTrial(t *testing.T) {
	f := NewFake(t)
	c := f.Client()
	if err := c.TestBoot(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, err := New(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := f.Booted().File
	if err := f.Client().CleanBootFiles(); err == nil || !strings.Contains(err.Error(), "trial boot") {
		t.Fatalf("CleanBootFiles in a trial = %v", err)
	}
	if !bytes.Equal(f.Booted().File, before) {
		t.Fatal("the trial's files changed")
	}
}
