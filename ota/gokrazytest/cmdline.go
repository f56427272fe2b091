package gokrazytest

import (
	"bytes"
	"regexp"
	"strconv"

	"roomkit/ota/gokrazy"
)

// FakePad is the padding after the fake's command line: the 64 bytes the
// first kit images had, the tightest a kit in the field has, so the fake
// runs out of room exactly where those kits do when nothing cleans.
const FakePad = 64

// NewCmdlineFile is the fake's cmdline.txt naming root partition n, in
// the testboot-safe form of our images: the command line, a newline,
// FakePad spaces.
func NewCmdlineFile(n int) []byte {
	line := "console=ttyS0 root=/dev/vda" + strconv.Itoa(n) + " ro init=/gokrazy/init panic=10\n"
	return append([]byte(line), bytes.Repeat([]byte{' '}, FakePad)...)
}

// Edit is gokrazy's modifyCmdlineFile on a file of fixed length: replace
// the contents; when that shrinks them, pad with spaces before every
// newline; write the result from the file's start, bytes past its end
// lost and, when no newline took the padding, the old tail kept.
func Edit(b []byte, replace func([]byte) []byte) []byte {
	rep := replace(bytes.Clone(b))
	if pad := len(b) - len(rep); pad > 0 {
		rep = bytes.ReplaceAll(rep, []byte{'\n'}, append(bytes.Repeat([]byte{' '}, pad), '\n'))
	}
	out := bytes.Clone(b)
	copy(out, rep)
	return out
}

// EnableTestboot is gokrazy's POST /update/testboot on one file: every
// newline becomes " gokrazy.try_boot_inactive=1\n".
func EnableTestboot(b []byte) []byte {
	return Edit(b, func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte{'\n'}, []byte(" "+gokrazy.TryMarker+"\n"))
	})
}

// TrialBoot is what gokrazy's init does to the file when it boots with
// the try marker: the marker becomes gokrazy.switch_on_boot=1.
func TrialBoot(b []byte) []byte {
	return Edit(b, func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte(gokrazy.TryMarker), []byte(gokrazy.SwitchMarker))
	})
}

var rootRE = regexp.MustCompile(`root=[^ ]+`) // gokrazy's rootRe

// SwitchRoot is gokrazy's POST /update/switch: every root=… becomes
// root=<root>.
func SwitchRoot(b []byte, root string) []byte {
	return Edit(b, func(b []byte) []byte {
		return rootRE.ReplaceAllLiteral(b, []byte("root="+root))
	})
}
