package meeting

import (
	"sync"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
)

// Step names a point a join passes on its way from the tap to media at
// the other participants. The tap → media benchmark times them to show
// which part of a join is worth making faster; the kit itself needs none.
type Step string

// The steps of Join, in the order a join usually passes them. Steps that
// overlap (the camera and the encoder start while ICE and DTLS run) may
// come in any order.
const (
	StepSignal    Step = "signal"    // the WebSocket is open and LiveKit's join answer is in
	StepICE       Step = "ice"       // the publishing connection's ICE is connected
	StepDTLS      Step = "dtls"      // its DTLS handshake is done: SRTP can flow
	StepPublished Step = "published" // LiveKit has accepted the camera track
	StepCamera    Step = "camera"    // the camera's first frame is read
	StepEncoded   Step = "encoded"   // the first frame is encoded (a keyframe)
	StepSent      Step = "sent"      // the first frame is written once DTLS is done
	StepAsked     Step = "asked"     // the SFU's first keyframe request (PLI, FIR)
)

// steps reports each step once per session: the first join is what a tap
// waits for; rejoins pass the same steps again and are not of interest.
type steps struct {
	on   func(Step) // Config.OnStep; nil: nothing is reported
	mu   sync.Mutex
	done map[Step]bool
}

func (s *steps) note(st Step) {
	if s == nil || s.on == nil {
		return
	}
	s.mu.Lock()
	seen := s.done[st]
	if s.done == nil {
		s.done = make(map[Step]bool)
	}
	s.done[st] = true
	s.mu.Unlock()
	if !seen {
		s.on(st)
	}
}

// passed reports whether the session has passed step st.
func (s *steps) passed(st Step) bool {
	if s.on == nil {
		return false // nothing is recorded
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[st]
}

// observe reads the steps LiveKit's SDK passes inside Join from its debug
// log lines, as it has no callbacks for them. Only the message and a
// state enum are looked at: nothing is formatted, so nothing of pion's is
// read while its goroutines write it. If the SDK renames a line, its step
// is simply missing from the benchmark's table.
func (s *steps) observe(publisher bool, msg string, kv []any) {
	if s == nil || s.on == nil {
		return
	}
	switch msg {
	case "first message received": // signaltransport_websocket.go: the join answer
		s.note(StepSignal)
	case "ICE connection state changed": // transport.go, per peer connection
		if publisher && hasValue(kv, "state", webrtc.ICEConnectionStateConnected) {
			s.note(StepICE)
		}
	case "ICE connected": // engine.go, which takes the publisher's ICE callback over
		if isPublisher(kv) {
			s.note(StepICE)
		}
	case "peer connection state changed": // connected = ICE and DTLS are done
		if publisher && hasValue(kv, "state", webrtc.PeerConnectionStateConnected) {
			s.note(StepDTLS)
		}
	}
}

// hasValue reports whether the key-value list kv holds key with value v.
func hasValue[T comparable](kv []any, key string, v T) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok && k == key {
			if got, ok := kv[i+1].(T); ok && got == v {
				return true
			}
		}
	}
	return false
}

// isPublisher reports whether a logger's values name the publishing
// peer connection (the SDK tags each transport's logger so).
func isPublisher(kv []any) bool {
	return hasValue(kv, "transport", livekit.SignalTarget_PUBLISHER)
}
