package meeting

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera/cameratest"
)

func TestJoinErrors(t *testing.T) {
	// A loopback port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "ws://" + l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name, url, token, want string
	}{
		{"no URL", "", "t", "no LiveKit URL"},
		{"no token", closed, "", "no LiveKit URL or token"},
		{"nobody listening", closed, "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "join meeting at " + closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := Join(ctx, Config{URL: tc.url, Token: tc.token,
				Camera: cameratest.NewSynthetic(320, 240, 15), Speakerphone: audiotest.NewSynthetic(440)})
			if err == nil {
				s.Leave()
				t.Fatal("joined")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("error %q, want it to say %q and not show the token", err, tc.want)
			}
		})
	}
}
