package provisioning

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheckPortalURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		allow    bool
		insecure bool // refused for plain HTTP
		bad      bool // refused as no usable URL
	}{
		{url: "https://portal.example"},
		{url: "https://10.0.0.5:8443/"},
		{url: "http://127.0.0.1:8080"},
		{url: "http://127.1.2.3"},
		{url: "http://localhost:8080"},
		{url: "http://LocalHost"},
		{url: "http://[::1]:8080"},
		{url: "http://portal.example", insecure: true},
		{url: "http://10.0.2.100", insecure: true},
		{url: "http://192.168.1.20:8080", insecure: true},
		{url: "http://128.0.0.1", insecure: true},
		{url: "http://[::2]", insecure: true},
		{url: "http://localhost.example.com", insecure: true},
		{url: "http://127.0.0.1.nip.example", insecure: true},
		{url: "http://10.0.2.100", allow: true},
		{url: "portal.example", bad: true},
		{url: "ftp://portal.example", bad: true},
		{url: "https://", bad: true},
		{url: "", bad: true},
	} {
		t.Run(fmt.Sprintf("%s allow=%v", tc.url, tc.allow), func(t *testing.T) {
			err := CheckPortalURL(tc.url, tc.allow)
			switch {
			case tc.insecure:
				if !errors.Is(err, ErrInsecurePortal) || !strings.Contains(err.Error(), "https://") || !strings.Contains(err.Error(), tc.url) {
					t.Errorf("CheckPortalURL = %v; want ErrInsecurePortal, naming the URL and https://", err)
				}
			case tc.bad:
				if err == nil || errors.Is(err, ErrInsecurePortal) {
					t.Errorf("CheckPortalURL = %v; want a refusal of the URL itself", err)
				}
			default:
				if err != nil {
					t.Errorf("CheckPortalURL = %v; want it accepted", err)
				}
			}
		})
	}
}
