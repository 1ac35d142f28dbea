package contract

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckWebhookTarget(t *testing.T) {
	refused := []struct{ url, why string }{
		{"http://127.0.0.1/hook", "127.0.0.1 is a loopback address"},
		{"http://127.0.0.1:8889/metrics", "loopback"},
		{"http://[::1]:8888/", "::1 is a loopback address"},
		{"http://[::ffff:127.0.0.1]/", "127.0.0.1 is a loopback address"},
		{"http://10.0.0.1/", "10.0.0.1 is a private address"},
		{"http://172.16.5.4/", "private"},
		{"http://192.168.1.1/", "private"},
		{"http://[fd00:ec2::254]/", "private"}, // AWS's metadata over IPv6
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the cloud metadata service"},
		{"http://169.254.1.1/", "link-local"},
		{"http://[fe80::1%25eth0]/", "link-local"},
		{"http://100.100.100.200/", "100.64.0.0/10"}, // Alibaba Cloud's metadata
		{"http://0.0.0.0:8888/", "unspecified"},
		{"http://0.1.2.3/", "0.0.0.0/8"},
		{"http://[::]/", "unspecified"},
		{"http://224.0.0.1/", "multicast"},
		{"http://255.255.255.255/", "240.0.0.0/4"},
		{"http://[64:ff9b::a00:1]/", "carries 10.0.0.1 is a private address"},
		{"http://[2002:7f00:1::]/", "carries 127.0.0.1"},
		{"http://localhost:8888/", "localhost is this machine"},
		{"http://LOCALHOST./", "is this machine"},
		{"http://api.localhost/", "is this machine"},
		{"http://metadata.google.internal/computeMetadata/v1/", "is a cloud metadata service"},
		{"http://metadata/", "cloud metadata"},
		{"http://db/", "not a fully qualified name"},
		{"http://printer.local/", "local name"},
		{"http://2130706433/", "not an IP address in standard form"},
		{"http://0x7f.0.0.1/", "not an IP address in standard form"},
		{"http://127.1/", "not an IP address in standard form"},
		{"http://017700000001/", "not an IP address in standard form"},
	}
	for _, tc := range refused {
		err := CheckWebhookTarget(tc.url, false)
		if err == nil || !errors.Is(err, ErrNotPublic) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want refused: %s", tc.url, err, tc.why)
			continue
		}
		if err := CheckWebhookTarget(tc.url, true); err != nil {
			t.Errorf("%s with private targets allowed: %v", tc.url, err)
		}
	}
	for _, u := range []string{"https://example.org/hook", "http://93.184.215.14:8080/x", "https://[2606:4700::6810:84e5]/", "https://hooks.example.com./a?b=c",
		"https://metadata.example.com/", "https://8.8.8.8/"} {
		if err := CheckWebhookTarget(u, false); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"ftp://example.org/", "file:///etc/passwd", "gopher://127.0.0.1/", "https:///x", "example.org"} {
		for _, private := range []bool{false, true} {
			if err := CheckWebhookTarget(u, private); err == nil || err.Error() != "webhook must be an http or https URL" {
				t.Errorf("%s (private %v): %v", u, private, err)
			}
		}
	}
	if err := CheckWebhookTarget("https://example.org/"+strings.Repeat("x", MaxWebhookLength), true); err == nil || !strings.Contains(err.Error(), "at most 2048 bytes") {
		t.Errorf("a long URL: %v", err)
	}
}

func TestAddressProblem(t *testing.T) {
	for addr, public := range map[string]bool{
		"1.1.1.1": true, "93.184.215.14": true, "2606:4700::6810:84e5": true, "64:ff9b::808:808": true,
		"127.0.0.53": false, "10.255.255.255": false, "::ffff:10.0.0.1": false, "::127.0.0.1": false, "fc00::1": false,
		"2001:db8::1": false, "2001:0:4136:e378:8000:63bf:3fff:fdd2": false, "198.18.0.1": false, "192.0.2.1": false,
	} {
		if got := AddressProblem(netip.MustParseAddr(addr)) == ""; got != public {
			t.Errorf("%s: public %v, want %v (%s)", addr, got, public, AddressProblem(netip.MustParseAddr(addr)))
		}
	}
}
