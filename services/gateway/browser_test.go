package gateway_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/topology/iban"
)

// chromium finds the browser `make tools` installs (or $CHROMIUM).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium not found: `make tools` installs it (or set CHROMIUM)")
	return ""
}

// GraphiQL in a real browser that may reach nothing but the bank: a
// subscription receives a transaction made meanwhile.
func TestGraphiQLSubscriptionInABrowser(t *testing.T) {
	browser := chromium(t)
	s := startStack(t, func(c *gateway.Config) { c.Introspection = true }) // as bank serves GraphiQL
	ann := s.signUp(t, "ann-"+suffix(), "pw")
	s.openCompanyAccount(t)

	artifacts, _ := filepath.Abs("../../test-artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../../web/test/graphiql.mjs")
	cmd := exec.CommandContext(t.Context(), "node", script, s.srv.URL, browser, filepath.Join(artifacts, "graphiql-subscription.png"))
	cmd.Dir = filepath.Dir(script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "subscribed" {
		cmd.Wait()
		t.Fatalf("GraphiQL: %q; stderr: %s", lines.Text(), stderr.String())
	}
	waitFor(t, "GraphiQL's subscription", func() bool { return s.gw.Subscribers() == 1 })
	// GraphiQL follows the company account, whose feed is public: ann pays
	// it.
	if r := s.transfer(t, schemas.NewID().String(), ann.Username, ann.Token, 4_200, ann.IBAN, iban.Company, "seen in GraphiQL"); r.Success == nil || !*r.Success {
		t.Fatalf("transfer: %+v %s", r, deref(r.Reason))
	}

	var result struct {
		Data struct {
			Tx map[string]any `json:"stream_transactions"`
		} `json:"data"`
	}
	if !lines.Scan() {
		cmd.Wait()
		t.Fatalf("no result in GraphiQL; stderr: %s", stderr.String())
	}
	if err := json.Unmarshal(lines.Bytes(), &result); err != nil {
		t.Fatalf("GraphiQL showed %q: %v", lines.Text(), err)
	}
	if got := describe(result.Data.Tx); got != iban.Company+" €42,00 CREDIT seen in GraphiQL" {
		t.Errorf("GraphiQL showed %q", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("GraphiQL: %v; stderr: %s", err, strings.TrimSpace(stderr.String()))
	}
}
