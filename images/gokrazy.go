package images

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// gokrazyModule builds from images/gokrazy, the module that pins gokrazy's
// runtime, kernels and firmware.
type gokrazyModule struct {
	dir    string
	goarch string
}

// systemServices are gokrazy's own services, as gok includes them.
var systemServices = []string{"dhcp", "ntp", "randomd", "heartbeat"}

func (g *gokrazyModule) goCmd(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+g.goarch, "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// moduleDir returns where the Go module cache holds mod (downloading it
// on the first build).
func (g *gokrazyModule) moduleDir(ctx context.Context, mod string) (string, error) {
	out, err := g.goCmd(ctx, g.dir, "list", "-m", "-f", "{{.Dir}}", mod)
	if err == nil && len(bytes.TrimSpace(out)) == 0 {
		if _, err = g.goCmd(ctx, g.dir, "mod", "download", mod); err == nil {
			out, err = g.goCmd(ctx, g.dir, "list", "-m", "-f", "{{.Dir}}", mod)
		}
	}
	if err != nil {
		return "", fmt.Errorf("find module %s: %w", mod, err)
	}
	return string(bytes.TrimSpace(out)), nil
}

// buildSystem builds gokrazy's services and the generated init into bin and
// returns the services init supervises.
func (g *gokrazyModule) buildSystem(ctx context.Context, bin, initMod string, cfg Config) ([]Service, error) {
	flags := []string{"build", "-trimpath", "-tags", "gokrazy,netgo,osusergo", "-ldflags", "-buildid="}
	var pkgs []string
	for _, s := range systemServices {
		pkgs = append(pkgs, "github.com/gokrazy/gokrazy/cmd/"+s)
	}
	if _, err := g.goCmd(ctx, g.dir, append(append(flags, "-o", bin+"/"), pkgs...)...); err != nil {
		return nil, fmt.Errorf("build gokrazy services: %w", err)
	}

	if err := checkTimeServers(cfg.TimeServers); err != nil {
		return nil, err
	}
	var services []Service
	for _, s := range systemServices {
		svc := Service{Path: "/gokrazy/" + s}
		if s == "ntp" {
			svc.Args = cfg.TimeServers // its servers are its arguments
		}
		services = append(services, svc)
	}
	services = append(services, kitServices(cfg)...)
	src, err := generateInit(cfg.Version, services)
	if err != nil {
		return nil, err
	}
	// The init is its own module with images/gokrazy's requirements, so
	// that -trimpath leaves no temporary path in it.
	if err := os.MkdirAll(initMod, 0o755); err != nil {
		return nil, err
	}
	gomod, err := os.ReadFile(filepath.Join(g.dir, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("read images/gokrazy/go.mod: %w", err)
	}
	gosum, err := os.ReadFile(filepath.Join(g.dir, "go.sum"))
	if err != nil {
		return nil, fmt.Errorf("read images/gokrazy/go.sum: %w", err)
	}
	gomod = bytes.Replace(gomod, []byte("module roomkit/images/gokrazy"), []byte("module kitinit"), 1)
	for name, b := range map[string][]byte{"go.mod": gomod, "go.sum": gosum, "init.go": src} {
		if err := os.WriteFile(filepath.Join(initMod, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	if _, err := g.goCmd(ctx, initMod, append(flags, "-o", filepath.Join(bin, "init"), ".")...); err != nil {
		return nil, fmt.Errorf("build init: %w", err)
	}
	return services, nil
}

// kitServices are the kit's own services: roomd; with an update root,
// the update guard (roomctl ota-guard, which reboots a trial boot whose
// roomd hangs or never starts); the extra programs.
func kitServices(cfg Config) []Service {
	roomd := cfg.RoomdArgs
	var services []Service
	if len(cfg.OTARoot) > 0 {
		roomd = append(slices.Clip(roomd), "-ota-root", OTARootPath)
	}
	services = append(services, Service{Path: "/user/roomd", Args: roomd})
	if len(cfg.OTARoot) > 0 {
		services = append(services, Service{Path: "/user/roomctl", Args: guardArgs(cfg.RoomdArgs)})
	}
	for _, p := range cfg.Extra {
		services = append(services, Service{Path: "/user/" + p.Name, Args: p.Args})
	}
	return services
}

// guardArgs are roomctl ota-guard's arguments: roomd's -state and
// -control where the image sets them, so the guard reads the same update
// state and asks the same control API.
func guardArgs(roomd []string) []string {
	var out []string
	for _, name := range []string{"state", "control"} {
		for i := 0; i < len(roomd); i++ {
			a := strings.TrimPrefix(strings.TrimPrefix(roomd[i], "-"), "-")
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				out = append(out, "-"+name, v)
			} else if a == name && i+1 < len(roomd) && strings.HasPrefix(roomd[i], "-") {
				out = append(out, "-"+name, roomd[i+1])
				i++
			}
		}
	}
	return append(out, "ota-guard")
}

// hostName is a DNS name as NTP servers are named.
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$`)

// checkTimeServers refuses what gokrazy's ntp could not query: it adds
// port 123 itself, so a name with a port or a URL would never answer and
// the kit would wait for its clock for ever.
func checkTimeServers(hosts []string) error {
	for _, h := range hosts {
		if net.ParseIP(h) == nil && !hostName.MatchString(h) {
			return fmt.Errorf("time server %q: want a host name or an address (no port: NTP uses 123)", h)
		}
	}
	return nil
}
