// Package evdev reads touch screens, tablets, mice and keyboards through
// the Linux event interface (/dev/input/event*) and delivers them to the UI
// as input events in screen pixels.
//
// What is understood: single-touch screens (ABS_X/ABS_Y and BTN_TOUCH);
// multitouch protocol B (slots), where the UI follows the first contact:
// Down when a contact appears, Move as it moves, Up when the last contact
// lifts; absolute pointers such as QEMU's usb-tablet (ABS_X/ABS_Y 0..32767
// and BTN_LEFT); mice (REL_X/REL_Y and BTN_LEFT, the pointer kept on the
// screen); and keyboards, whose digits, Enter, Backspace and Escape become
// Key events named "0".."9", "Enter", "Backspace" and "Escape". Axis ranges
// come from EVIOCGABS and are mapped onto the screen, optionally swapped,
// mirrored and rotated (Options). Events come out at SYN_REPORT, so a
// frame's X and Y arrive together.
//
// When the kernel's buffer for the kit overflows it says SYN_DROPPED: the
// partial frame up to the next SYN_REPORT is discarded and the device's
// state is asked afresh (EVIOCGKEY, EVIOCGABS, EVIOCGMTSLOTS), so a finger
// lifted meanwhile is released (Up where the UI last saw it) and one put
// down meanwhile is pressed where it is. If the kernel cannot answer,
// whatever was held is released.
//
// A Device is one event node; a Manager merges all of them and picks up
// devices plugged in later, dropping (and reporting) those unplugged.
//
// # Fixture format
//
// Record writes, and the tests replay, fixture files ("*.evdev" in
// testdata). A fixture is
//
//   - one line of JSON ending in a newline, at most 64 KiB:
//     {"format":"roomkit-evdev/1","device":{"name":...,"abs":[{"code":0,
//     "value":0,"min":0,"max":32767},...],"rel":[0,1],"keys":[272,...],
//     "slots":[{"code":57,"values":[-1,-1]},...]}}
//     where abs holds EVIOCGABS of every absolute axis, rel and keys list
//     the codes set in EVIOCGBIT, and slots, for multitouch devices, holds
//     EVIOCGMTSLOTS of the tracking ID and position axes (the kernel sends
//     no position for a touch where the slot's last one was, so a reader
//     opening the device needs them), and resyncs, for recordings with
//     SYN_DROPPED in them, holds the device's state asked after each one,
//     in order: {"keys":[330],"abs":[{"code":0,"value":310},...],
//     "slots":[...]} (keys held, each axis's value, the slots); then
//   - the events, each a 24-byte struct input_event in little-endian byte
//     order whatever the recording machine: seconds (int64), microseconds
//     (int64), type (uint16), code (uint16), value (int32).
//
// A file whose length after the header is not a multiple of 24 is rejected.
package evdev
