package main

import (
	"slices"
	"testing"
)

func TestParseCPUPIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []cpuProc
		bad  bool
	}{
		{in: "", want: nil},
		{in: "portal A=12,portal B=13, PostgreSQL=7 ,", want: []cpuProc{{"portal A", 12}, {"portal B", 13}, {"PostgreSQL", 7}}},
		{in: "12", bad: true},
		{in: "=12", bad: true},
		{in: "a=0", bad: true},
		{in: "a=x", bad: true},
	} {
		got, err := parseCPUPIDs(tc.in)
		if tc.bad != (err != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("parseCPUPIDs(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
