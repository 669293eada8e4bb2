package main

import "testing"

func TestDoNotReplicate(t *testing.T) {
	cases := []struct {
		info    string
		want    bool
		wantErr bool
	}{
		{"", false, false},
		{"  ", false, false},
		{`{"doNotReplicate":"true"}`, true, false},
		{`{"doNotReplicate":"True"}`, true, false},
		{`{"doNotReplicate":true}`, true, false},
		{`{"doNotReplicate":"false"}`, false, false},
		{`{"other":"x"}`, false, false},
		{`{"doNotReplicate":1}`, false, false},
		{`not json`, false, true},
	}
	for _, c := range cases {
		got, err := doNotReplicate(c.info)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("doNotReplicate(%q) = %t, %v; want %t, error %t", c.info, got, err, c.want, c.wantErr)
		}
	}
}

func TestRate(t *testing.T) {
	if r := rate(1000, 0); r != 0 {
		t.Errorf("rate over no time = %v", r)
	}
	if r := rate(1000, 2e9); r != 500 {
		t.Errorf("rate(1000, 2s) = %v, want 500", r)
	}
}
