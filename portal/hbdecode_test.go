package portal

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"roomkit/ota"
)

// plainCases are heartbeat bodies decodeHeartbeatPlain must take (taken:
// true) or leave to encoding/json; either way it never disagrees with it.
var plainCases = []struct {
	body  string
	taken bool
}{
	{fleetHeartbeat, true},
	{goodHeartbeat, true},
	{`{"state":"ready"}`, true},
	{` { "state" : "in a meeting" , "version" : "1.2.0" , "uptime_seconds" : 0 , "devices" : [ ] } `, true},
	{`{"state":"ready","uptime_seconds":-0,"latency_ms":9223372036854775807,"devices":[{"kind":"camera","name":"Kamera é","present":false,"error":"unplugged"},{}]}`, true},
	{`{"state":"ready","update":{"state":"downloading","target_version":"1.5.0","error":"","detail":"1.5.0 downloaded","channel":"beta","available":"1.5.0","request":"r-1"}}`, true},
	{`{"state":"ready","update":{}}`, true},
	{`{"state":"ready","health":{"status":"ok","checks":[]},"version":"1"}`, true},
	{`{}`, true},
	// Left to encoding/json:
	{`{"state":"ready","state":"idle"}`, false},
	{`{"State":"ready"}`, false},
	{`{"state":"re\u0061dy"}`, false},
	{`{"state":null}`, false},
	{`{"state":"ready","devices":null}`, false},
	{`{"state":"ready","health":null}`, false},
	{`{"state":"ready","uptime_seconds":1.5}`, false},
	{`{"state":"ready","uptime_seconds":1e3}`, false},
	{`{"state":"ready","uptime_seconds":01}`, false},
	{`{"state":"ready","uptime_seconds":-}`, false},
	{`{"state":"ready","uptime_seconds":9223372036854775808}`, false},
	{`{"state":"ready","uptime_seconds":"15"}`, false},
	{`{"state":"ready","devices":[{"kind":"camera","present":1}]}`, false},
	{`{"state":"ready","devices":[{"kind":"camera","present":truex}]}`, false},
	{`{"state":"ready","devices":[{"kind":"camera","kind":"display"}]}`, false},
	{`{"state":"ready","devices":[{"kind":"camera","extra":1}]}`, false},
	{`{"state":"ready","update":{"state":"idle","progress":0.5}}`, false},
	{`{"state":"ready","update":{"state":"healthy","last":{"version":"1.4.0","outcome":"healthy"}}}`, false},
	{`{"state":"ready","actions_done":[{"id":"a-1","ok":true}]}`, false},
	{`{"state":"ready","health":{"status":"ok","extra":1}}`, false},
	{`{"state":"ready","extra":1}`, false},
	{`{"state":"ready"} {}`, false},
	{`{"state":"ready",}`, false},
	{`{"state":"ready"`, false},
	{`{"state":"` + "\xff" + `"}`, false},
	{`{"state":"a` + "\x01" + `"}`, false},
	{`[]`, false},
	{``, false},
}

func TestDecodeHeartbeatPlain(t *testing.T) {
	for _, tc := range plainCases {
		got, ok := decodeHeartbeatPlain([]byte(tc.body))
		if ok != tc.taken {
			t.Errorf("decodeHeartbeatPlain(%.80q) took it: %v, want %v", tc.body, ok, tc.taken)
		}
		agreePlain(t, tc.body, got, ok)
	}
}

// FuzzDecodeHeartbeatPlain: whatever decodeHeartbeatPlain takes,
// decodeStrict (encoding/json) decodes to the same heartbeat.
func FuzzDecodeHeartbeatPlain(f *testing.F) {
	for _, tc := range plainCases {
		f.Add(tc.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, ok := decodeHeartbeatPlain([]byte(body))
		agreePlain(t, body, got, ok)
	})
}

func agreePlain(t *testing.T, body string, got heartbeat, ok bool) {
	t.Helper()
	if !ok {
		if !reflect.DeepEqual(got, heartbeat{}) {
			t.Fatalf("decodeHeartbeatPlain(%q) refused it but returned %+v", body, got)
		}
		return
	}
	var want heartbeat
	if err := decodeStrict([]byte(body), &want); err != nil {
		t.Fatalf("decodeHeartbeatPlain took %q, which encoding/json refuses: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeHeartbeatPlain(%q) = %+v\nencoding/json: %+v", body, got, want)
	}
	if hb, err := decodeHeartbeat([]byte(body)); err != nil || !reflect.DeepEqual(hb, want) {
		t.Fatalf("decodeHeartbeat(%q) = %+v, %v", body, hb, err)
	}
}

// TestParseHeartbeatPlainErrors: a body the plain decoder takes is still
// checked as before (the checks follow the decoding).
func TestParseHeartbeatPlainErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"state":""}`, "state must be 1 to"},
		{`{"state":"ready","uptime_seconds":-1}`, "uptime_seconds must not be negative"},
		{`{"state":"ready","devices":[` + strings.Repeat(`{"kind":"camera"},`, 32) + `{}]}`, "at most 32 devices"},
		{`{"state":"ready","update":{"state":"sleeping"}}`, "state"},
	} {
		if _, ok := decodeHeartbeatPlain([]byte(tc.body)); !ok {
			t.Errorf("decodeHeartbeatPlain left %.60q to encoding/json", tc.body)
		}
		if _, err := parseHeartbeat([]byte(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseHeartbeat(%.60q) = %v, want %q", tc.body, err, tc.want)
		}
	}
}

// TestUnmarshalDevices: a stored devices column reads as json.Unmarshal
// reads it, whichever way it goes.
func TestUnmarshalDevices(t *testing.T) {
	for _, col := range []string{
		`[]`,
		`[{"kind":"camera","name":"Synthetic camera","present":true,"error":""},{"kind":"display","name":"A \u003c B","present":false,"error":"x"}]`,
		`[{"kind":"camera","name":"Kamera é","present":true,"error":""}]`,
		`null`,
		``,
		`[{"kind":"camera","unknown":1}]`,
		`[{"kind":7}]`,
		`{"kind":"camera"}`,
	} {
		var got, want []Device
		gotErr := unmarshalDevices(col, &got)
		wantErr := json.Unmarshal([]byte(col), &want)
		if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("unmarshalDevices(%q) = %+v, %v; json.Unmarshal: %+v, %v", col, got, gotErr, want, wantErr)
		}
	}
}

// TestStoredReport: a stored update report reads as json.Unmarshal
// reads it, whichever way it goes.
func TestStoredReport(t *testing.T) {
	for _, col := range []string{
		`{"state":"idle","target_version":"","error":"","channel":"stable"}`,
		`{"state":"downloading","target_version":"1.5.0","error":"","detail":"a \u0026 b","progress":0.5}`,
		`{"state":"healthy","target_version":"","error":"","last":{"version":"1.4.0","outcome":"healthy"}}`,
		`{"State":"idle"}`,
		`{"state":"idle","unknown":1}`,
		`{"state":7}`,
		`{}`,
		`[]`,
		`nonsense`,
	} {
		got := storedReport(col)
		var want *ota.Report
		if r := new(ota.Report); json.Unmarshal([]byte(col), r) == nil {
			want = r
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("storedReport(%q) = %+v; json.Unmarshal: %+v", col, got, want)
		}
	}
}
