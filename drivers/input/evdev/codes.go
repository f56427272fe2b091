package evdev

// Event types and codes from include/uapi/linux/input-event-codes.h, only
// those the kit reads.
const (
	evSyn = 0x00
	evKey = 0x01
	evRel = 0x02
	evAbs = 0x03

	synReport   = 0
	synMTReport = 2
	synDropped  = 3

	relX = 0x00
	relY = 0x01

	absX            = 0x00
	absY            = 0x01
	absMTSlot       = 0x2f
	absMTPositionX  = 0x35
	absMTPositionY  = 0x36
	absMTTrackingID = 0x39

	btnLeft  = 0x110
	btnTouch = 0x14a

	keyEsc       = 1
	keyBackspace = 14
	keyEnter     = 28
	keyKPEnter   = 96
)

// keyNames maps the keys the UI understands to input.Event.Key names:
// digits on both the main block and the keypad, Enter, Backspace, Escape.
var keyNames = map[uint16]string{
	keyEsc: "Escape", keyBackspace: "Backspace", keyEnter: "Enter", keyKPEnter: "Enter",
	2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "6", 8: "7", 9: "8", 10: "9", 11: "0",
	79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9", 82: "0",
}

// maxSlots bounds the multitouch state a device can make us keep; panels
// report 10 or fewer contacts.
const maxSlots = 32
