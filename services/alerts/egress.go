package alerts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/openbank/bank/contract"
)

// WebhookTimeout bounds one webhook post, from dialling to the end of the
// receiver's answer.
const WebhookTimeout = 5 * time.Second

// webhookClient returns the client that posts alerts. Unless allowPrivate,
// it connects only to public addresses, checked on the address it is about
// to connect to, after DNS: a rule's URL was checked when it was set
// (rule.CheckWebhookTarget), but its name may resolve to an internal
// address now (DNS rebinding). It follows no redirect (a 3xx is a failed
// delivery: a receiver must not steer the bank's posts elsewhere), ignores
// HTTP(S)_PROXY, and gives up on a post after WebhookTimeout. resolve, if
// set, replaces DNS (for tests).
func webhookClient(allowPrivate bool, resolve func(ctx context.Context, host string) ([]netip.Addr, error)) *http.Client {
	dialer := &net.Dialer{Timeout: WebhookTimeout}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("%w: cannot tell the address %q", contract.ErrNotPublic, host)
			}
			if why := contract.AddressProblem(ip); why != "" {
				return fmt.Errorf("%w: %s", contract.ErrNotPublic, why)
			}
			return nil
		}
	}
	dial := dialer.DialContext
	if resolve != nil {
		dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			ips := []netip.Addr{}
			if ip, err := netip.ParseAddr(host); err == nil {
				ips = append(ips, ip)
			} else if ips, err = resolve(ctx, host); err != nil {
				return nil, err
			}
			var errs []error
			for _, ip := range ips {
				conn, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
				if err == nil {
					return conn, nil
				}
				errs = append(errs, err)
			}
			return nil, fmt.Errorf("dial %s: %w", host, errors.Join(errs...))
		}
	}
	return &http.Client{
		Timeout: WebhookTimeout,
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            dial,
			TLSHandshakeTimeout:    WebhookTimeout,
			ResponseHeaderTimeout:  WebhookTimeout,
			MaxResponseHeaderBytes: 64 << 10,
			IdleConnTimeout:        30 * time.Second,
			ForceAttemptHTTP2:      true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
