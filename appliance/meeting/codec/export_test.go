package codec

// RingResident is how many bytes of d's bitstream ring are resident, or -1
// if the ring was not found (another openh264, another layout).
func RingResident(d *H264Decoder) int { return d.ringResident() }
