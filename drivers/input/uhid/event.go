package uhid

import (
	"encoding/binary"
	"fmt"
)

// struct uhid_event (include/uapi/linux/uhid.h): a packed __u32 type and a
// union whose largest member, uhid_create2_req, makes it 4376 bytes. The
// kernel reads and writes it in the machine's byte order.
const (
	eventSize = 4 + createReqSize
	dataMax   = 4096 // UHID_DATA_MAX and HID_MAX_DESCRIPTOR_SIZE

	// uhid_create2_req: name[128] phys[64] uniq[64] rd_size bus vendor
	// product version country rd_data[4096].
	createName    = 4
	createPhys    = createName + 128
	createUniq    = createPhys + 64
	createRDSize  = createUniq + 64
	createBus     = createRDSize + 2
	createVendor  = createBus + 2
	createProduct = createVendor + 4
	createVersion = createProduct + 4
	createCountry = createVersion + 4
	createRDData  = createCountry + 4
	createReqSize = createRDData - 4 + dataMax
)

// Event types (enum uhid_event_type).
const (
	evDestroy        = 1
	evStart          = 2
	evStop           = 3
	evOpen           = 4
	evClose          = 5
	evOutput         = 6
	evGetReport      = 9
	evGetReportReply = 10
	evCreate2        = 11
	evInput2         = 12
	evSetReport      = 13
	evSetReportReply = 14
)

// rtypeFeature is UHID_FEATURE_REPORT in GET_REPORT and SET_REPORT.
const rtypeFeature = 0

// busVirtual is BUS_VIRTUAL: the touchscreen is honest about what it is.
const busVirtual = 0x06

// The USB IDs of the touchscreen: pid.codes' vendor ID for open source
// projects and its test product ID, which no kernel driver claims.
const (
	vendorID  = 0x1209
	productID = 0x0001
)

var order = binary.NativeEndian

// createEvent encodes UHID_CREATE2.
func createEvent(name, phys, uniq string, rd []byte) ([]byte, error) {
	if len(rd) == 0 || len(rd) > dataMax {
		return nil, fmt.Errorf("report descriptor of %d bytes (want 1..%d)", len(rd), dataMax)
	}
	for _, s := range []struct {
		what, v string
		max     int
	}{{"name", name, 128}, {"phys", phys, 64}, {"uniq", uniq, 64}} {
		// The kernel copies these with strscpy: keep room for the NUL.
		if len(s.v) >= s.max {
			return nil, fmt.Errorf("device %s %q is %d bytes, at most %d fit", s.what, s.v, len(s.v), s.max-1)
		}
	}
	b := make([]byte, eventSize)
	order.PutUint32(b, evCreate2)
	copy(b[createName:createPhys], name)
	copy(b[createPhys:createUniq], phys)
	copy(b[createUniq:createRDSize], uniq)
	order.PutUint16(b[createRDSize:], uint16(len(rd)))
	order.PutUint16(b[createBus:], busVirtual)
	order.PutUint32(b[createVendor:], vendorID)
	order.PutUint32(b[createProduct:], productID)
	order.PutUint32(b[createVersion:], 1)
	order.PutUint32(b[createCountry:], 0)
	copy(b[createRDData:], rd)
	return b, nil
}

// inputEvent encodes UHID_INPUT2: type, __u16 size, data.
func inputEvent(report []byte) []byte {
	b := make([]byte, 6, 6+len(report))
	order.PutUint32(b, evInput2)
	order.PutUint16(b[4:], uint16(len(report)))
	return append(b, report...)
}

// destroyEvent encodes UHID_DESTROY.
func destroyEvent() []byte { return order.AppendUint32(nil, evDestroy) }

// getReportReply encodes UHID_GET_REPORT_REPLY: type, __u32 id, __u16
// err (an errno, 0 for success), __u16 size, data.
func getReportReply(id uint32, errno uint16, data []byte) []byte {
	b := make([]byte, 12, 12+len(data))
	order.PutUint32(b, evGetReportReply)
	order.PutUint32(b[4:], id)
	order.PutUint16(b[8:], errno)
	order.PutUint16(b[10:], uint16(len(data)))
	return append(b, data...)
}

// setReportReply encodes UHID_SET_REPORT_REPLY: type, __u32 id, __u16 err.
func setReportReply(id uint32, errno uint16) []byte {
	b := make([]byte, 10)
	order.PutUint32(b, evSetReportReply)
	order.PutUint32(b[4:], id)
	order.PutUint16(b[8:], errno)
	return b
}

// request is an event the kernel sends: the device started, was opened or
// closed, or the driver asks for (GET_REPORT) or sets (SET_REPORT) a
// report and waits for the answer carrying id.
type request struct {
	typ   uint32
	id    uint32
	rnum  byte // report number
	rtype byte // UHID_FEATURE_REPORT, UHID_OUTPUT_REPORT, UHID_INPUT_REPORT
}

// parseRequest decodes one event read from /dev/uhid.
func parseRequest(b []byte) (request, error) {
	if len(b) < 4 {
		return request{}, fmt.Errorf("uhid event of %d bytes, shorter than its type", len(b))
	}
	r := request{typ: order.Uint32(b)}
	switch r.typ {
	case evGetReport, evSetReport:
		// uhid_get_report_req and uhid_set_report_req both start with
		// __u32 id, __u8 rnum, __u8 rtype.
		if len(b) < 10 {
			return request{}, fmt.Errorf("uhid report request of %d bytes, want at least 10", len(b))
		}
		r.id, r.rnum, r.rtype = order.Uint32(b[4:]), b[8], b[9]
	}
	return r, nil
}
