// roomkit-release keeps the signed update repository kits install
// releases from (a TUF repository; see docs/ota.md):
//
//	roomkit-release init -repo DIR [-root-keys N -root-threshold N] [-expires role=dur,...]
//	roomkit-release publish -repo DIR -image FILE -version V [-channel stable] [-target amd64|rpi4|sim]
//	roomkit-release rotate -repo DIR -role R -root-key FILE [-root-key FILE...] [-new-key FILE]
//	roomkit-release refresh -repo DIR
//	roomkit-release verify -repo DIR [-root FILE] [-url URL]
//	roomkit-release sim-image -version V [-size 8M] [-unhealthy] -out FILE
//
// Exit codes: 0 done, 1 failed, 2 usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/renameio/v2"

	"roomkit/images/disk"
	"roomkit/ota"
	"roomkit/ota/repo"
)

const usage = `usage: roomkit-release <command> -repo DIR [flags]

commands:
  init      create a repository: keys and the first signed metadata
  publish   sign a release root (a disk image or squashfs) into a channel;
            the same version again adds a channel (promotion)
  rotate    replace a role's key (needs the offline root keys)
  refresh   re-sign the timestamp (daily) and what is near expiry
  verify    walk the repository as a kit does and list what it accepts
  sim-image write a release "root" for sim kits (roomd -devices sim), to publish with -target sim

roomkit-release <command> -help shows the command's flags.
`

// errUsage marks mistakes in the command line (exit code 2).
var errUsage = errors.New("usage")

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// version is set by the build (-X main.version).
var version = "dev"

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "roomkit-release:", strings.TrimPrefix(err.Error(), "usage: "))
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "roomkit-release:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	// Warnings from the repository (a hostname in a release root, a root
	// near expiry) go to stderr.
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErr("no command")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("roomkit-release "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("repo", "", "the repository directory")
	var do func() error
	switch cmd {
	case "init":
		keys := fs.Int("root-keys", 1, "how many offline root keys to create")
		threshold := fs.Int("root-threshold", 1, "how many root keys must sign a new root")
		expires := fs.String("expires", "", "validity per role, e.g. root=8760h,targets=4320h,snapshot=720h,timestamp=168h")
		do = func() error { return initRepo(stdout, *dir, *keys, *threshold, *expires) }
	case "publish":
		image := fs.String("image", "", "the release: a kit disk image (make image) or its root squashfs; for sim any file")
		ver := fs.String("version", "", "the release's version, MAJOR.MINOR.PATCH[-pre] (like 1.5.0)")
		channel := fs.String("channel", "stable", "the channel(s) to publish in, comma-separated (like beta or stable)")
		target := fs.String("target", "amd64", "the hardware: "+strings.Join(ota.Targets, ", "))
		do = func() error { return publish(stdout, *dir, *image, *ver, *channel, *target) }
	case "rotate":
		role := fs.String("role", "", "the role whose key is replaced: root, targets, snapshot or timestamp (online roles may be comma-separated: targets,snapshot,timestamp)")
		var rootKeys list
		fs.Var(&rootKeys, "root-key", "a current root key file (repeat, or comma-separate, up to the root's threshold); for -role root the first is the key replaced")
		newKey := fs.String("new-key", "", "the new key file (default: a new key, in keys/online for online roles, the next keys/offline/root-N.pem for root)")
		fs.StringVar(newKey, "new-root-key", "", "the same as -new-key")
		do = func() error { return rotate(stdout, *dir, *role, rootKeys, *newKey) }
	case "refresh":
		do = func() error { return refresh(stdout, *dir) }
	case "verify":
		root := fs.String("root", "", "the root a kit trusts (default: the repository's 1.root.json, what the first kits were built with)")
		url := fs.String("url", "", "check the served copy at this URL (the portal's https://…/ota, a CDN) instead of the directory")
		do = func() error { return verify(stdout, *dir, *root, *url) }
	case "sim-image":
		ver := fs.String("version", "", "the version the sim kit runs after installing it")
		sz := fs.String("size", "8M", "the image's size (K, M or G suffix): what the kit downloads")
		unhealthy := fs.Bool("unhealthy", false, "the sim kit fails its trial boot with it (its camera goes missing): the rollback demo")
		out := fs.String("out", "", "the file to write")
		do = func() error { return simImage(stdout, *out, *ver, *sz, *unhealthy) }
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "-version", "version":
		fmt.Fprintln(stdout, version)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageErr("unknown command %q", cmd)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageErr("%s: %v", cmd, err)
	}
	if fs.NArg() > 0 {
		return usageErr("%s: unexpected arguments %q", cmd, fs.Args())
	}
	if *dir == "" && cmd != "sim-image" {
		return usageErr("%s: -repo DIR is required", cmd)
	}
	return do()
}

// list is a repeatable, comma-separable flag.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func initRepo(w io.Writer, dir string, keys, threshold int, expires string) error {
	o := repo.InitOptions{RootKeys: keys, RootThreshold: threshold, Expires: map[string]time.Duration{}}
	for _, kv := range strings.Split(expires, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		role, d, ok := strings.Cut(kv, "=")
		if !ok {
			return usageErr("init: -expires %q: write role=duration, like timestamp=168h", kv)
		}
		v, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil {
			return usageErr("init: -expires %s: %v", role, err)
		}
		o.Expires[strings.TrimSpace(role)] = v
	}
	if err := repo.Init(dir, o); err != nil {
		return err
	}
	offline := filepath.Join(dir, "keys", "offline")
	fmt.Fprintf(w, `Created the update repository in %s (root v1, no releases yet).

The root keys are in %s.
Move that directory offline now (an encrypted USB stick in a safe, a second copy
elsewhere) and delete it here: they sign new roots only, when a key is rotated or
the root renewed (yearly). Whoever holds them controls every kit.
The online keys in %s sign releases and the daily refresh.

Kits trust %s: build images with it (roomd -ota-root).
Serve %s with portal -ota %s, or upload metadata/ and targets/ to a CDN.
`, dir, offline, filepath.Join(dir, "keys", "online"), filepath.Join(dir, "metadata", "1.root.json"), dir, dir)
	return nil
}

func publish(w io.Writer, dir, image, ver, channel, target string) error {
	if image == "" {
		return usageErr("publish: -image FILE is required (a disk image from make image, or its root squashfs)")
	}
	if ver == "" {
		return usageErr("publish: -version is required (like 1.5.0)")
	}
	var chans list
	chans.Set(channel)
	r, err := repo.Open(dir)
	if err != nil {
		return err
	}
	if err := r.Publish(image, ota.Release{Version: ver, Target: target, Channels: chans}); err != nil {
		return err
	}
	for _, l := range r.Releases() {
		if l.Release.Version == ver && l.Release.Target == target {
			kernel := ""
			if l.Release.Kernel != "" {
				kernel = ", kernel " + l.Release.Kernel
			}
			fmt.Fprintf(w, "%s for %s is in %s (%s, sha256 %.16s…%s)\n", ver, target, strings.Join(l.Release.Channels, ", "), size(l.Length), l.SHA256, kernel)
		}
	}
	c := r.Current()
	fmt.Fprintf(w, "signed targets v%d; timestamp v%d valid until %s\n", c.Targets.Version, c.Timestamp.Version, c.Timestamp.Expires.Format(time.RFC3339))
	return nil
}

func rotate(w io.Writer, dir, role string, rootKeys []string, newKey string) error {
	if role == "" {
		return usageErr("rotate: -role is required (root, targets, snapshot or timestamp)")
	}
	if len(rootKeys) == 0 {
		return usageErr("rotate: -root-key FILE is required (the offline root keys, as many as the root's threshold)")
	}
	r, err := repo.Open(dir)
	if err != nil {
		return err
	}
	if err := r.Rotate(role, rootKeys, newKey); err != nil {
		return err
	}
	c := r.Current()
	fmt.Fprintf(w, "root v%d names the new %s key; re-signed targets v%d, snapshot v%d, timestamp v%d\n", c.Root.Version, role, c.Targets.Version, c.Snapshot.Version, c.Timestamp.Version)
	if role == repo.RoleRoot {
		fmt.Fprintf(w, "move the new root key back offline with the others; kits walk from their root to v%d by themselves\n", c.Root.Version)
	}
	return nil
}

func refresh(w io.Writer, dir string) error {
	r, err := repo.Open(dir)
	if err != nil {
		return err
	}
	if err := r.Refresh(time.Now()); err != nil {
		return err
	}
	printExpiry(w, r.Current())
	return nil
}

func printExpiry(w io.Writer, rep *repo.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "role\tversion\texpires")
	for _, r := range []struct {
		name string
		s    repo.Signed
	}{{"root", rep.Root}, {"targets", rep.Targets}, {"snapshot", rep.Snapshot}, {"timestamp", rep.Timestamp}} {
		fmt.Fprintf(tw, "%s\tv%d\t%s (in %s)\n", r.name, r.s.Version, r.s.Expires.Format(time.RFC3339), days(time.Until(r.s.Expires)))
	}
	tw.Flush()
}

func verify(w io.Writer, dir, rootFile, url string) error {
	if rootFile == "" {
		rootFile = filepath.Join(dir, "metadata", "1.root.json")
	}
	trusted, err := os.ReadFile(rootFile)
	if err != nil {
		return fmt.Errorf("read the trusted root: %w", err)
	}
	var rep *repo.Report
	if url != "" {
		rep, err = repo.VerifyURL(url, trusted, time.Now(), nil)
	} else {
		rep, err = repo.Verify(dir, trusted, time.Now())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "a kit trusting %s accepts this repository:\n", rootFile)
	printExpiry(w, rep)
	if len(rep.Releases) == 0 {
		fmt.Fprintln(w, "\nno releases")
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "version\ttarget\tchannels\tsize\tkernel\tsha256")
	for _, l := range rep.Releases {
		k := l.Release.Kernel
		if k == "" {
			k = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.16s…\n", l.Release.Version, l.Release.Target, strings.Join(l.Release.Channels, ","), size(l.Length), k, l.SHA256)
	}
	return tw.Flush()
}

func simImage(w io.Writer, out, ver, sz string, unhealthy bool) error {
	if out == "" || ver == "" {
		return usageErr("sim-image: -version V and -out FILE are required")
	}
	n, err := disk.ParseBytes(sz, 0, 64<<30)
	if err != nil {
		return usageErr("sim-image: -size: %v", err)
	}
	f, err := renameio.TempFile("", out)
	if err != nil {
		return fmt.Errorf("sim-image: %w", err)
	}
	defer f.Cleanup()
	if err := repo.WriteSimImage(f, repo.SimImage{Version: ver, Unhealthy: unhealthy}, n); err != nil {
		return err
	}
	if err := f.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("sim-image: %w", err)
	}
	fmt.Fprintf(w, "wrote %s: sim release %s (%s)\n", out, ver, size(n))
	return nil
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

func days(d time.Duration) string {
	if d < 0 {
		return "EXPIRED"
	}
	if d < 48*time.Hour {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%d days", int((d+12*time.Hour).Hours()/24))
}
