package contract

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// MaxWebhookLength bounds a webhook URL, in bytes.
const MaxWebhookLength = 2048

// ErrNotPublic is the error of a webhook that names, or reaches, an
// address that is not public.
var ErrNotPublic = errors.New("webhooks go to public addresses only")

// CheckWebhookTarget says what is wrong with a webhook URL as a target for
// the bank's posts: it must be an http(s) URL and, unless allowPrivate,
// name a public host — not this machine (loopback, localhost), a private
// network (RFC 1918, unique-local fc00::/7, shared 100.64/10), a link-local
// address (169.254/16 with the clouds' metadata service at
// 169.254.169.254, fe80::/10), an unspecified, reserved or multicast
// address, the metadata service's names, or a single-label or local-only
// name. A name is checked as written, not resolved: the alerts service
// checks every address it connects to again (after DNS, so a name that
// resolves to an internal address later is refused too).
func CheckWebhookTarget(rawURL string, allowPrivate bool) error {
	if len(rawURL) > MaxWebhookLength {
		return fmt.Errorf("webhook may be at most %d bytes", MaxWebhookLength)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("webhook must be an http or https URL")
	}
	if allowPrivate {
		return nil
	}
	if why := hostProblem(u.Hostname()); why != "" {
		return fmt.Errorf("%w: %s", ErrNotPublic, why)
	}
	return nil
}

// numericHost is a host of numbers only, such as 127.1, 0x7f.0.0.1 or
// 2130706433, which resolvers may read as IPv4 addresses.
var numericHost = regexp.MustCompile(`^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*$`)

// localSuffixes are names only a local network resolves.
var localSuffixes = []string{".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet", ".corp"}

// metadataNames are the clouds' instance metadata services.
var metadataNames = []string{"metadata.google.internal", "metadata.goog", "metadata", "instance-data"}

// hostProblem says why host is not a public webhook host ("" if it is).
func hostProblem(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if ip, err := netip.ParseAddr(h); err == nil {
		return AddressProblem(ip)
	}
	switch {
	case h == "":
		return "the URL names no host"
	case h == "localhost" || strings.HasSuffix(h, ".localhost"):
		return host + " is this machine"
	case numericHost.MatchString(h):
		return host + " is not an IP address in standard form"
	}
	for _, n := range metadataNames {
		if h == n {
			return host + " is a cloud metadata service"
		}
	}
	if !strings.Contains(h, ".") {
		return host + " is not a fully qualified name"
	}
	for _, s := range localSuffixes {
		if strings.HasSuffix(h, s) {
			return host + " is a local name"
		}
	}
	return ""
}

// nonPublic are the IPv4 and IPv6 ranges, beyond what netip classifies,
// that are not public: this network, shared address space (carrier NAT,
// also Alibaba Cloud's metadata at 100.100.100.200), IETF protocol
// assignments, documentation and benchmarking ranges, reserved space and
// broadcast, IPv4-compatible and discard-only IPv6, deprecated site-local
// IPv6, and Teredo (which hides an IPv4 address).
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
		"::/96", "100::/64", "2001::/32", "2001:db8::/32", "3fff::/20", "fec0::/10"} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

var (
	nat64      = []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48")}
	sixToFour  = netip.MustParsePrefix("2002::/16")
	cloudMeta4 = netip.MustParseAddr("169.254.169.254")
)

// AddressProblem says why ip is not a public address ("" if it is).
func AddressProblem(ip netip.Addr) string {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	s := ip.String()
	switch {
	case !ip.IsValid():
		return "no address"
	case ip == cloudMeta4:
		return s + " is the cloud metadata service"
	case ip.IsLoopback():
		return s + " is a loopback address (this machine)"
	case ip.IsPrivate():
		return s + " is a private address"
	case ip.IsLinkLocalUnicast():
		return s + " is a link-local address"
	case ip.IsUnspecified():
		return s + " is the unspecified address"
	case ip.IsMulticast():
		return s + " is a multicast address"
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return s + " is in " + p.String() + ", which is not public"
		}
	}
	// Addresses that carry an IPv4 address are what that address is.
	b := ip.As16()
	for _, p := range nat64 {
		if p.Contains(ip) {
			if why := AddressProblem(netip.AddrFrom4([4]byte(b[12:16]))); why != "" {
				return s + " carries " + why
			}
		}
	}
	if sixToFour.Contains(ip) {
		if why := AddressProblem(netip.AddrFrom4([4]byte(b[2:6]))); why != "" {
			return s + " carries " + why
		}
	}
	return ""
}
