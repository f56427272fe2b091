package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// setupScript installs every tool this package runs.
const setupScript = "scripts/setup-image.sh"

// systemdBoot is Debian's systemd-boot EFI binary (package systemd-boot-efi).
var systemdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

// NeedTools says which of the named programs are missing, and how to get
// them.
func NeedTools(names ...string) error {
	var missing []string
	for _, n := range names {
		if strings.HasPrefix(n, "/") {
			if _, err := os.Stat(n); err != nil {
				missing = append(missing, n)
			}
			continue
		}
		if _, err := lookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run %s to install them", strings.Join(missing, ", "), setupScript)
	}
	return nil
}

// lookPath finds admin tools too (mkfs.*, debugfs live in /usr/sbin, which
// an unprivileged PATH may lack).
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// run runs a tool and puts its output into the error when it fails.
func run(ctx context.Context, env []string, name string, args ...string) error {
	p, err := lookPath(name)
	if err != nil {
		return fmt.Errorf("%s: %w (run %s)", name, err, setupScript)
	}
	cmd := exec.CommandContext(ctx, p, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, msg)
	}
	return nil
}

var errTooSmall = errors.New("too small")
