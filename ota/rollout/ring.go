package rollout

import (
	"crypto/sha256"
	"encoding/binary"
)

// Buckets is the number of buckets devices are spread over: a ring of p %
// holds the devices whose Bucket is below p*Buckets/100.
const Buckets = 10000

// Bucket places a device in 0..9999, the same on every call, in every
// release and on the portal and the kit alike: the first 8 bytes of
// sha256("roomkit-ring\x00"+deviceID), big-endian, modulo 10000. The
// prefix keeps the bucket independent of other hashes of the same ID.
func Bucket(deviceID string) int {
	sum := sha256.Sum256([]byte("roomkit-ring\x00" + deviceID))
	return int(binary.BigEndian.Uint64(sum[:8]) % Buckets)
}

// InRing reports whether the device is among the first percent % of the
// fleet: Bucket(deviceID) < percent*100. 0 % holds no device, 100 % every
// device.
func InRing(deviceID string, percent int) bool {
	return Bucket(deviceID) < percent*(Buckets/100)
}
