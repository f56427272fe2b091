package uhid

import (
	"bytes"
	"context"
	"encoding/hex"
	"image"
	"reflect"
	"strings"
	"testing"
)

// field is one main item of a report descriptor as a HID parser sees it.
type field struct {
	kind      string // "input" or "feature"
	reportID  uint32
	page      uint32
	usages    []uint32
	min, max  int32
	size, cnt uint32
	constant  bool
}

// parseDescriptor walks short items the way hid-core does (signed extents
// when the minimum is negative), so the tests check what the kernel will
// understand rather than our own bytes back.
func parseDescriptor(t *testing.T, d []byte) []field {
	t.Helper()
	var (
		out       []field
		g         field // global state
		usages    []uint32
		depth     int
		rawMax    uint32
		rawMaxLen int
	)
	for i := 0; i < len(d); {
		prefix := d[i]
		n := int(prefix & 3)
		if n == 3 {
			n = 4
		}
		if i+1+n > len(d) {
			t.Fatalf("item at %d runs past the end", i)
		}
		var u uint32
		for k := range n {
			u |= uint32(d[i+1+k]) << (8 * k)
		}
		s := int32(u)
		switch n {
		case 1:
			s = int32(int8(u))
		case 2:
			s = int32(int16(u))
		}
		i += 1 + n
		switch prefix &^ 3 {
		case itemUsagePage:
			g.page = u
		case itemUsage:
			usages = append(usages, g.page<<16|u)
		case itemLogicalMin:
			g.min = s
		case itemLogicalMax:
			g.max, rawMax, rawMaxLen = s, u, n
		case itemReportSize:
			g.size = u
		case itemReportCount:
			g.cnt = u
		case itemReportID:
			g.reportID = u
		case itemCollection:
			depth++
			usages = nil
		case itemEndCollection:
			depth--
			usages = nil
		case itemInput, itemFeature:
			f := g
			if g.min >= 0 && rawMaxLen < 4 {
				f.max = int32(rawMax) // unsigned when the minimum is not negative
			}
			f.kind = map[byte]string{itemInput: "input", itemFeature: "feature"}[prefix&^3]
			f.usages = usages
			f.constant = u&1 != 0
			out = append(out, f)
			usages = nil
		default:
			t.Fatalf("unexpected item %#x at %d", prefix, i)
		}
	}
	if depth != 0 {
		t.Fatalf("collections not closed: depth %d", depth)
	}
	return out
}

func TestDescriptor(t *testing.T) {
	const (
		x = pageGenericDesktop<<16 | usageX
		y = pageGenericDesktop<<16 | usageY
	)
	tests := []struct {
		cfg        Config
		minX, maxX int32
		minY, maxY int32
		bits       uint32
		reportLen  int
	}{
		{Config{Name: "a", MaxX: 4095, MaxY: 4095}, 0, 4095, 0, 4095, 16, 14},
		{Config{Name: "b", MaxX: 32767, MaxY: 32767}, 0, 32767, 0, 32767, 16, 14},
		{Config{Name: "c", MaxX: 65535, MaxY: 1}, 0, 65535, 0, 1, 16, 14},
		{Config{Name: "d", MinX: -2048, MaxX: 2047, MinY: 100, MaxY: 900}, -2048, 2047, 100, 900, 16, 14},
		{Config{Name: "e", MinX: 10, MaxX: 1 << 20, MaxY: 600}, 10, 1 << 20, 0, 600, 32, 22},
		{Config{Name: "f", MinX: -40000, MaxX: 40000, MaxY: 10}, -40000, 40000, 0, 10, 32, 22},
		// Swapped: the report's X is the screen's height.
		{Config{Name: "g", MaxX: 1279, MinY: 5, MaxY: 799, SwapXY: true}, 5, 799, 0, 1279, 16, 14},
	}
	for _, tt := range tests {
		t.Run(tt.cfg.Name, func(t *testing.T) {
			l, err := tt.cfg.layout()
			if err != nil {
				t.Fatal(err)
			}
			fields := parseDescriptor(t, reportDescriptor(l))
			var xs, ys, bits int
			var sawCount, sawMax, sawBlob, sawContactID bool
			for _, f := range fields {
				if f.kind == "input" && f.reportID == reportTouch {
					bits += int(f.size * f.cnt)
				}
				switch {
				case reflect.DeepEqual(f.usages, []uint32{x}):
					xs++
					if f.min != tt.minX || f.max != tt.maxX || f.size != tt.bits {
						t.Errorf("X field %d..%d in %d bits, want %d..%d in %d", f.min, f.max, f.size, tt.minX, tt.maxX, tt.bits)
					}
				case reflect.DeepEqual(f.usages, []uint32{y}):
					ys++
					if f.min != tt.minY || f.max != tt.maxY || f.size != tt.bits {
						t.Errorf("Y field %d..%d in %d bits, want %d..%d in %d", f.min, f.max, f.size, tt.minY, tt.maxY, tt.bits)
					}
				case reflect.DeepEqual(f.usages, []uint32{pageDigitizer<<16 | usageContactID}):
					sawContactID = true // what makes hid-core pick hid-multitouch
				case reflect.DeepEqual(f.usages, []uint32{pageDigitizer<<16 | usageContactCount}):
					sawCount = f.kind == "input" && f.max == maxContacts
				case reflect.DeepEqual(f.usages, []uint32{pageDigitizer<<16 | usageContactMax}):
					sawMax = f.kind == "feature" && f.reportID == reportMaxContact
				case reflect.DeepEqual(f.usages, []uint32{pageVendor<<16 | usageBlob}):
					// hid-core's test for a Windows 8 panel.
					sawBlob = f.kind == "feature" && f.size == 8 && f.cnt == blobSize && f.reportID == reportBlob
				}
			}
			if xs != maxContacts || ys != maxContacts {
				t.Errorf("%d X and %d Y fields, want %d of each", xs, ys, maxContacts)
			}
			if !sawContactID || !sawCount || !sawMax || !sawBlob {
				t.Errorf("contact id %v, contact count %v, contact count maximum %v, Windows 8 blob %v: want all",
					sawContactID, sawCount, sawMax, sawBlob)
			}
			// The report the descriptor describes is the one we send.
			r, err := inputReport(l, nil)
			if err != nil {
				t.Fatal(err)
			}
			if 1+bits/8 != len(r) || len(r) != tt.reportLen {
				t.Errorf("descriptor says %d bytes after the report ID, inputReport sends %d, want %d", bits/8, len(r), tt.reportLen)
			}
		})
	}
}

// TestDescriptorBytes pins the descriptor of a 0..4095 panel byte for byte.
func TestDescriptorBytes(t *testing.T) {
	l, err := Config{Name: "x", MaxX: 4095, MaxY: 4095}.layout()
	if err != nil {
		t.Fatal(err)
	}
	finger := "0922a102" + "094215002501750195018102950781030951257f750895018102" +
		"05017510" + "1500" + "26ff0f" + "0930" + "8102" + "1500" + "26ff0f" + "0931" + "8102" + "050dc0"
	want := "050d0904a1018501" + finger + finger +
		"09541500250275089501810285020955b10206" + "00ff850309c526ff00960001b102c0"
	if got := hex.EncodeToString(reportDescriptor(l)); got != want {
		t.Errorf("descriptor\n got %s\nwant %s", got, want)
	}
}

func TestInputReport(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		contacts []contact
		want     string
	}{
		{"one finger", Config{Name: "a", MaxX: 4095, MaxY: 4095},
			[]contact{{tip: true, id: 0, x: 0x123, y: 0xabc}},
			"01" + "0100" + "2301" + "bc0a" + "0000" + "0000" + "0000" + "01"},
		{"lift", Config{Name: "a", MaxX: 4095, MaxY: 4095},
			[]contact{{tip: false, id: 0, x: 4095, y: 0}},
			"01" + "0000" + "ff0f" + "0000" + "0000" + "0000" + "0000" + "01"},
		{"two fingers", Config{Name: "a", MaxX: 32767, MaxY: 32767},
			[]contact{{tip: true, id: 0, x: 1, y: 2}, {tip: true, id: 1, x: 32767, y: 32766}},
			"01" + "0100" + "0100" + "0200" + "0101" + "ff7f" + "fe7f" + "02"},
		{"negative", Config{Name: "a", MinX: -2048, MaxX: 2047, MaxY: 10},
			[]contact{{tip: true, x: -2048, y: 10}},
			"01" + "0100" + "00f8" + "0a00" + "0000" + "0000" + "0000" + "01"},
		{"32 bits", Config{Name: "a", MaxX: 1 << 20, MaxY: 10},
			[]contact{{tip: true, x: 1 << 20, y: 3}},
			"01" + "0100" + "00001000" + "03000000" + "0000" + "00000000" + "00000000" + "01"},
	}
	for _, tt := range tests {
		l, err := tt.cfg.layout()
		if err != nil {
			t.Fatal(err)
		}
		got, err := inputReport(l, tt.contacts)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("%s: report %x, want %s", tt.name, got, tt.want)
		}
	}
	l, _ := Config{Name: "a", MaxX: 1, MaxY: 1}.layout()
	if _, err := inputReport(l, make([]contact, 3)); err == nil || !strings.Contains(err.Error(), "at most 2") {
		t.Errorf("three contacts: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{MaxX: 10, MaxY: 10}, "without a name"},
		{Config{Name: "a", MaxX: 0, MaxY: 10}, `touchscreen "a": X range 0..0 is empty`},
		{Config{Name: "a", MinY: 5, MaxX: 10, MaxY: 4}, `Y range 5..4 is empty`},
		{Config{Name: "a", MaxX: 1 << 33, MaxY: 4}, "does not fit in 32 bits"},
	}
	for _, tt := range tests {
		if _, err := tt.cfg.layout(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := createEvent(strings.Repeat("n", 128), "p", "u", []byte{1}); err == nil || !strings.Contains(err.Error(), "at most 127 fit") {
		t.Errorf("long name: %v", err)
	}
	if _, err := createEvent("n", "p", "u", make([]byte, 4097)); err == nil || !strings.Contains(err.Error(), "4097 bytes") {
		t.Errorf("long descriptor: %v", err)
	}
}

func TestCreateEvent(t *testing.T) {
	rd := []byte{0x05, 0x0d, 0xc0}
	b, err := createEvent("RoomKit Touch", "phys0", "uniq1", rd)
	if err != nil {
		t.Fatal(err)
	}
	// Offsets from struct uhid_event and struct uhid_create2_req.
	if len(b) != 4376 {
		t.Errorf("event of %d bytes, want sizeof(struct uhid_event) = 4376", len(b))
	}
	checks := []struct {
		what   string
		off, n int
		want   []byte
	}{
		{"type UHID_CREATE2", 0, 4, order.AppendUint32(nil, 11)},
		{"name", 4, 14, []byte("RoomKit Touch\x00")},
		{"phys", 132, 6, []byte("phys0\x00")},
		{"uniq", 196, 6, []byte("uniq1\x00")},
		{"rd_size", 260, 2, order.AppendUint16(nil, 3)},
		{"bus BUS_VIRTUAL", 262, 2, order.AppendUint16(nil, 6)},
		{"vendor", 264, 4, order.AppendUint32(nil, 0x1209)},
		{"product", 268, 4, order.AppendUint32(nil, 1)},
		{"rd_data", 280, 4, []byte{0x05, 0x0d, 0xc0, 0}},
	}
	for _, c := range checks {
		if got := b[c.off : c.off+c.n]; !bytes.Equal(got, c.want) {
			t.Errorf("%s at %d: %x, want %x", c.what, c.off, got, c.want)
		}
	}
}

func TestRequests(t *testing.T) {
	getReport := func(id uint32, rnum, rtype byte) []byte {
		b := order.AppendUint32(nil, evGetReport)
		b = order.AppendUint32(b, id)
		return append(b, rnum, rtype)
	}
	tests := []struct {
		in      []byte
		want    request
		wantErr string
	}{
		{order.AppendUint32(nil, evStart), request{typ: evStart}, ""},
		{append(order.AppendUint32(nil, evOpen), make([]byte, 100)...), request{typ: evOpen}, ""},
		{getReport(7, reportMaxContact, rtypeFeature), request{typ: evGetReport, id: 7, rnum: 2}, ""},
		{[]byte{9, 0}, request{}, "shorter than its type"},
		{getReport(7, 2, 0)[:9], request{}, "want at least 10"},
	}
	for _, tt := range tests {
		got, err := parseRequest(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%x: error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%x: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}

	// Replies as the kernel reads them: type, id, err, size, data.
	want := order.AppendUint32(nil, evGetReportReply)
	want = order.AppendUint32(want, 7)
	want = order.AppendUint16(want, 5)
	want = order.AppendUint16(want, 2)
	want = append(want, 2, 2)
	if got := getReportReply(7, 5, []byte{2, 2}); !bytes.Equal(got, want) {
		t.Errorf("GET_REPORT_REPLY %x, want %x", got, want)
	}
	want = order.AppendUint32(nil, evSetReportReply)
	want = order.AppendUint32(want, 8)
	want = order.AppendUint16(want, 0)
	if got := setReportReply(8, 0); !bytes.Equal(got, want) {
		t.Errorf("SET_REPORT_REPLY %x, want %x", got, want)
	}
	want = order.AppendUint32(nil, evInput2)
	want = order.AppendUint16(want, 3)
	want = append(want, 1, 2, 3)
	if got := inputEvent([]byte{1, 2, 3}); !bytes.Equal(got, want) {
		t.Errorf("INPUT2 %x, want %x", got, want)
	}
	if r, ok := featureReport(reportMaxContact); !ok || !bytes.Equal(r, []byte{2, 2}) {
		t.Errorf("Contact Count Maximum report %x, want 0202", r)
	}
	if r, ok := featureReport(reportBlob); !ok || len(r) != 257 || r[0] != reportBlob {
		t.Errorf("blob report of %d bytes starting %x, want 257 starting 03", len(r), r[:1])
	}
	if _, ok := featureReport(9); ok {
		t.Error("report 9 answered; the device has none")
	}
}

// recorder is the kernel as the tests see it: it keeps every report.
type recorder struct{ reports [][]byte }

func (r *recorder) input(b []byte) error               { r.reports = append(r.reports, bytes.Clone(b)); return nil }
func (r *recorder) path() string                       { return "/dev/input/event9" }
func (r *recorder) waitOpen(ctx context.Context) error { return nil }
func (r *recorder) close() error                       { return nil }

func TestTouchSequence(t *testing.T) {
	type step struct {
		touch []image.Point // nil: Tap(tap)
		tap   image.Point
	}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
		want  []string
	}{
		{"tap", Config{Name: "a", MaxX: 4095, MaxY: 4095},
			[]step{{tap: image.Pt(100, 200)}},
			[]string{
				"01" + "0100" + "6400" + "c800" + "000000000000" + "01",
				"01" + "0000" + "6400" + "c800" + "000000000000" + "01",
			}},
		{"inverted", Config{Name: "a", MaxX: 4095, MaxY: 4095, InvertX: true},
			[]step{{tap: image.Pt(0, 4095)}},
			[]string{
				"01" + "0100" + "ff0f" + "ff0f" + "000000000000" + "01",
				"01" + "0000" + "ff0f" + "ff0f" + "000000000000" + "01",
			}},
		{"swapped and mirrored", Config{Name: "a", MinX: 100, MaxX: 1100, MaxY: 500, SwapXY: true, InvertY: true},
			[]step{{tap: image.Pt(100, 0)}},
			[]string{
				"01" + "0100" + "f401" + "6400" + "000000000000" + "01",
				"01" + "0000" + "f401" + "6400" + "000000000000" + "01",
			}},
		{"two fingers then one lifts", Config{Name: "a", MaxX: 4095, MaxY: 4095},
			[]step{
				{touch: []image.Point{{1, 2}}},
				{touch: []image.Point{{3, 4}, {5, 6}}},
				{touch: []image.Point{{7, 8}}},
				{touch: []image.Point{}},
				{touch: []image.Point{}}, // nothing down: nothing sent
			},
			[]string{
				"01" + "0100" + "0100" + "0200" + "000000000000" + "01",
				"01" + "0100" + "0300" + "0400" + "0101" + "0500" + "0600" + "02",
				"01" + "0100" + "0700" + "0800" + "0001" + "0500" + "0600" + "02",
				"01" + "0000" + "0700" + "0800" + "000000000000" + "01",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tt.cfg.layout()
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			ts := &Touchscreen{cfg: tt.cfg, l: l, dev: rec}
			for _, s := range tt.steps {
				if s.touch != nil {
					err = ts.Touch(s.touch...)
				} else {
					err = ts.Tap(s.tap.X, s.tap.Y)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, r := range rec.reports {
				got = append(got, hex.EncodeToString(r))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reports\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTouchOutOfRange(t *testing.T) {
	cfg := Config{Name: "Panel", MinX: 10, MaxX: 4095, MaxY: 4095}
	l, _ := cfg.layout()
	rec := &recorder{}
	ts := &Touchscreen{cfg: cfg, l: l, dev: rec}
	tests := []struct {
		pts  []image.Point
		want string
	}{
		{[]image.Point{{5, 5}}, `touch "Panel" at (5,5): outside its logical range 10..4095 × 0..4095`},
		{[]image.Point{{10, 4096}}, "outside its logical range"},
		{[]image.Point{{10, 0}, {11, 0}, {12, 0}}, "3 fingers: it has at most 2"},
	}
	for _, tt := range tests {
		if err := ts.Touch(tt.pts...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.pts, err, tt.want)
		}
	}
	if len(rec.reports) != 0 {
		t.Errorf("bad touches sent %d reports", len(rec.reports))
	}
}

// FuzzParseRequest: whatever /dev/uhid hands back, parsing does not panic.
func FuzzParseRequest(f *testing.F) {
	f.Add(order.AppendUint32(nil, evStart))
	f.Add(append(order.AppendUint32(nil, evGetReport), 1, 0, 0, 0, 2, 0))
	f.Add(append(order.AppendUint32(nil, evSetReport), 1, 0, 0, 0, 2, 0, 2, 0, 5, 5))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRequest(b)
		if err == nil && r.typ != order.Uint32(b) {
			t.Fatalf("type %d from %x", r.typ, b)
		}
	})
}
