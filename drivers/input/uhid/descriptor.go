package uhid

import (
	"fmt"
	"math"
)

// Report IDs of the touchscreen's descriptor.
const (
	reportTouch      = 1 // input: the contacts and the contact count
	reportMaxContact = 2 // feature: Contact Count Maximum
	reportBlob       = 3 // feature: the Windows 8 certificate blob
)

// maxContacts is how many fingers the touchscreen reports. Two is enough
// to check that the kit follows the first one.
const maxContacts = 2

// blobSize is the length of the Windows 8 certificate blob. hid-core only
// calls a device a Windows 8 touchscreen (HID_GROUP_MULTITOUCH_WIN_8, the
// class hid-multitouch gives most real panels) when its descriptor has a
// 256-byte feature 0xff0000c5.
const blobSize = 256

// layout is how the sensor reports positions: the logical range of each
// field of the report and how many bits each takes.
type layout struct {
	minX, maxX, minY, maxY int32
	bits                   int // 16 or 32 for both X and Y
}

// fieldBits is the width of a position field that holds min..max: HID
// fields are signed when the logical minimum is negative, unsigned
// otherwise (which is also how hid-core extracts them).
func fieldBits(min, max int32) int {
	if min >= 0 && max <= math.MaxUint16 || min >= math.MinInt16 && max <= math.MaxInt16 {
		return 16
	}
	return 32
}

// HID short items: tag<<4 | type<<2 | size code.
const (
	itemInput         = 0x80
	itemFeature       = 0xb0
	itemCollection    = 0xa0
	itemEndCollection = 0xc0
	itemUsagePage     = 0x04
	itemLogicalMin    = 0x14
	itemLogicalMax    = 0x24
	itemReportSize    = 0x74
	itemReportID      = 0x84
	itemReportCount   = 0x94
	itemUsage         = 0x08
)

// Main item data: Data,Var,Abs and Const,Array,Abs.
const (
	dataVarAbs = 0x02
	constant   = 0x03
)

// Usages, from the HID Usage Tables.
const (
	pageGenericDesktop = 0x01
	pageDigitizer      = 0x0d
	pageVendor         = 0xff00

	usageX            = 0x30
	usageY            = 0x31
	usageTouchScreen  = 0x04
	usageFinger       = 0x22
	usageTipSwitch    = 0x42
	usageContactID    = 0x51
	usageContactCount = 0x54
	usageContactMax   = 0x55
	usageBlob         = 0xc5

	collectionApplication = 0x01
	collectionLogical     = 0x02
)

// descriptor assembles HID report descriptors.
type descriptor []byte

// unsigned appends an item whose data is unsigned, in as few bytes as
// hold it.
func (d *descriptor) unsigned(prefix byte, v uint32) *descriptor {
	switch {
	case v <= math.MaxUint8:
		*d = append(*d, prefix|1, byte(v))
	case v <= math.MaxUint16:
		*d = append(*d, prefix|2, byte(v), byte(v>>8))
	default:
		*d = append(*d, prefix|3, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return d
}

// signed appends an item whose data is signed (logical and physical
// extents), in as few bytes as hold it with its sign.
func (d *descriptor) signed(prefix byte, v int32) *descriptor {
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		*d = append(*d, prefix|1, byte(v))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		*d = append(*d, prefix|2, byte(v), byte(v>>8))
	default:
		*d = append(*d, prefix|3, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return d
}

func (d *descriptor) end() *descriptor { *d = append(*d, itemEndCollection); return d }

// reportDescriptor describes a Windows 8 style multitouch touchscreen,
// shaped like Microsoft's sample for touch digitizers: one input report
// with maxContacts fingers (tip switch, contact identifier, X, Y) and the
// contact count, a Contact Count Maximum feature, and the certificate blob.
func reportDescriptor(l layout) []byte {
	d := new(descriptor)
	d.unsigned(itemUsagePage, pageDigitizer).unsigned(itemUsage, usageTouchScreen)
	d.unsigned(itemCollection, collectionApplication)
	d.unsigned(itemReportID, reportTouch)
	for range maxContacts {
		d.unsigned(itemUsage, usageFinger).unsigned(itemCollection, collectionLogical)
		// Tip switch in one bit, seven bits of padding.
		d.unsigned(itemUsage, usageTipSwitch).signed(itemLogicalMin, 0).signed(itemLogicalMax, 1)
		d.unsigned(itemReportSize, 1).unsigned(itemReportCount, 1).unsigned(itemInput, dataVarAbs)
		d.unsigned(itemReportCount, 7).unsigned(itemInput, constant)
		// Contact identifier: a byte.
		d.unsigned(itemUsage, usageContactID).signed(itemLogicalMax, 127)
		d.unsigned(itemReportSize, 8).unsigned(itemReportCount, 1).unsigned(itemInput, dataVarAbs)
		// X and Y in the sensor's logical units.
		d.unsigned(itemUsagePage, pageGenericDesktop)
		d.unsigned(itemReportSize, uint32(l.bits))
		d.signed(itemLogicalMin, l.minX).signed(itemLogicalMax, l.maxX)
		d.unsigned(itemUsage, usageX).unsigned(itemInput, dataVarAbs)
		d.signed(itemLogicalMin, l.minY).signed(itemLogicalMax, l.maxY)
		d.unsigned(itemUsage, usageY).unsigned(itemInput, dataVarAbs)
		d.unsigned(itemUsagePage, pageDigitizer)
		d.end()
	}
	d.unsigned(itemUsage, usageContactCount).signed(itemLogicalMin, 0).signed(itemLogicalMax, maxContacts)
	d.unsigned(itemReportSize, 8).unsigned(itemReportCount, 1).unsigned(itemInput, dataVarAbs)
	d.unsigned(itemReportID, reportMaxContact)
	d.unsigned(itemUsage, usageContactMax).unsigned(itemFeature, dataVarAbs)
	d.unsigned(itemUsagePage, pageVendor)
	d.unsigned(itemReportID, reportBlob)
	d.unsigned(itemUsage, usageBlob).signed(itemLogicalMax, 255)
	d.unsigned(itemReportCount, blobSize).unsigned(itemFeature, dataVarAbs)
	d.end()
	return *d
}

// contact is one finger in a report, in sensor units.
type contact struct {
	tip  bool
	id   byte
	x, y int32
}

// inputReport encodes report 1: each finger as tip switch byte, contact
// identifier, X and Y (little-endian, l.bits wide), then the contact
// count. Unused finger entries stay zero.
func inputReport(l layout, contacts []contact) ([]byte, error) {
	if len(contacts) > maxContacts {
		return nil, fmt.Errorf("%d contacts, the touchscreen reports at most %d", len(contacts), maxContacts)
	}
	b := []byte{reportTouch}
	for i := range maxContacts {
		var c contact
		if i < len(contacts) {
			c = contacts[i]
		}
		tip := byte(0)
		if c.tip {
			tip = 1
		}
		b = append(b, tip, c.id)
		for _, v := range []int32{c.x, c.y} {
			b = appendLE(b, uint32(v), l.bits/8)
		}
	}
	return append(b, byte(len(contacts))), nil
}

func appendLE(b []byte, v uint32, n int) []byte {
	for i := range n {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// featureReport answers the kernel's GET_REPORT for a feature report, with
// the report ID first as hid-multitouch checks; ok is false for reports
// the device does not have.
func featureReport(id byte) (report []byte, ok bool) {
	switch id {
	case reportMaxContact:
		return []byte{reportMaxContact, maxContacts}, true
	case reportBlob:
		// Any bytes do: the kernel only fetches the blob because some
		// panels will not report touches until someone has.
		return append([]byte{reportBlob}, make([]byte, blobSize)...), true
	}
	return nil, false
}
