package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A short run against the embedded bank, so the load generator cannot rot.
func TestSmokeRun(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bank")
	if out, err := exec.Command("go", "build", "-o", bin, "../bank").CombinedOutput(); err != nil {
		t.Fatalf("build bank: %v\n%s", err, out)
	}
	bank := exec.Command(bin, "--data-dir", filepath.Join(dir, "data"), "--kafka-port", "0", "--registry-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--bcrypt-cost", "4", "--load-test")
	var stderr bytes.Buffer
	bank.Stderr = &stderr
	stdout, _ := bank.StdoutPipe()
	if err := bank.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		bank.Process.Signal(syscall.SIGTERM)
		bank.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("bank printed nothing: %s", stderr.String())
	}
	url := regexp.MustCompile(`open (http://\S+)/ .* metrics and status at (http://\S+)/,`).FindStringSubmatch(lines.Text())
	if url == nil {
		t.Fatalf("bank printed %q", lines.Text())
	}
	waitReady(t, url[1]+"/readyz")

	out := filepath.Join(dir, "results.json")
	var table bytes.Buffer
	err := run(context.Background(), []string{"--url", url[1], "--admin-url", url[2], "--accounts", "10", "--rate", "50", "--duration", "3s",
		"--subscribers", "5", "--out", out}, &table, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	switch {
	case r.Sent < 140 || r.Completed != r.Sent || r.Failed != 0:
		t.Errorf("sent %d, completed %d, failed %d (errors %v); want about 150, all completed", r.Sent, r.Completed, r.Failed, r.Errors)
	case r.Mutation.Samples != int(r.Completed) || r.Mutation.P50 <= 0 || r.Mutation.P99 < r.Mutation.P50:
		t.Errorf("mutation latency %+v", r.Mutation)
	case r.EndToEnd.Samples == 0 || r.SubscriberErrors != 0:
		t.Errorf("end to end %+v, subscriber errors %d", r.EndToEnd, r.SubscriberErrors)
	case r.Services["gateway"].CPUCores <= 0 || r.Services["gateway"].RSSMiB <= 0:
		t.Errorf("gateway use %+v", r.Services["gateway"])
	case len(r.Services["gateway"].ConsumerLag) == 0 || len(r.Services["gateway"].ConsumerLagPeak) < len(r.Services["gateway"].ConsumerLag):
		t.Errorf("no consumer lag read from the bank's metrics: %+v", r.Services["gateway"])
	}
	if !strings.Contains(table.String(), "mutation latency") {
		t.Errorf("table:\n%s", table.String())
	}
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res, err := httpGet(url); err == nil && res == 200 {
			return
		}
	}
	t.Fatalf("%s never ready", url)
}

func httpGet(url string) (int, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

func TestLagGroup(t *testing.T) {
	for sample, want := range map[string]string{
		`openbank_consumer_lag{group="openbank-alerts",partition="0",topic="transaction_events"}`: "openbank-alerts",
		`openbank_consumer_lag{partition="3",group="g"}`:                                          "g",
		`openbank_consumer_lag{group="",partition="0"}`:                                           "",
		`openbank_consumer_lag{partition="0"}`:                                                    "",
		`openbank_consumer_lag{consumer_group="x",partition="0"}`:                                 "",
		`openbank_consumer_lag{consumer_group="x",group="y"}`:                                     "y",
		`openbank_consumer_lag_total{group="x"}`:                                                  "",
		`process_cpu_seconds_total`:                                                               "",
	} {
		got, ok := lagGroup(sample)
		if got != want || ok != (want != "") {
			t.Errorf("lagGroup(%s) = %q, %v; want %q", sample, got, ok, want)
		}
	}
}
