package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type runConfig struct {
	URL         string  `json:"url"`
	Accounts    int     `json:"accounts"`
	Rate        float64 `json:"rate"`
	Duration    string  `json:"duration"`
	Subscribers int     `json:"subscribers"`
}

type serviceUse struct {
	CPUCores                float64 `json:"cpu_cores"`
	RSSBeforeSubscribersMiB float64 `json:"rss_before_subscribers_mib"`
	// KiBPerSubscriber is RSS per subscription the service runs, idle,
	// once its memory settled; KiBPerSubscriberAtOnce the same a second
	// after they all run (RSSSubscribedMiB), with the garbage of
	// subscribing still there.
	KiBPerSubscriber       float64 `json:"kib_per_idle_subscriber"`
	KiBPerSubscriberAtOnce float64 `json:"kib_per_subscriber_at_once"`
	RSSSubscribedMiB       float64 `json:"rss_subscribed_mib"`
	RSSBeforeLoadMiB       float64 `json:"rss_before_load_mib"`
	// SubscribersBeforeLoad is how many subscriptions the service ran
	// when RSSBeforeLoadMiB was read (-1: it does not say).
	SubscribersBeforeLoad float64 `json:"subscribers_before_load"`
	RSSMiB                float64 `json:"rss_mib"`
	PeakRSSMiB            float64 `json:"peak_rss_mib"`
	// ConsumerLag is, per consumer group of the service, how far its most
	// lagging partition was behind when the load ended, and
	// ConsumerLagPeak the most it was, sampled each second: a reader that
	// falls behind shows here, whatever the latencies measured. A group
	// reports its lag as it commits, so one that stops committing shows
	// the last lag it reported.
	ConsumerLag     map[string]float64 `json:"consumer_lag_at_end,omitempty"`
	ConsumerLagPeak map[string]float64 `json:"consumer_lag_peak,omitempty"`
}

type results struct {
	Config           runConfig             `json:"config"`
	Setup            string                `json:"setup"`
	Sent             int64                 `json:"sent"`
	Completed        int64                 `json:"completed"`
	Failed           int64                 `json:"failed"`
	NotSent          int64                 `json:"not_sent"`
	Throughput       float64               `json:"throughput_per_s"`
	Mutation         latency               `json:"mutation_latency"`
	EndToEnd         latency               `json:"end_to_end_latency"`
	TransactionsSeen int64                 `json:"transactions_seen_by_subscribers"`
	SubscriberErrors int64                 `json:"subscriber_errors"`
	Errors           map[string]int        `json:"errors"`
	Services         map[string]serviceUse `json:"services"`
}

func (r *results) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "rate\t%.0f/s for %s, %d accounts, %d subscribers\n", r.Config.Rate, r.Config.Duration, r.Config.Accounts, r.Config.Subscribers)
	fmt.Fprintf(tw, "transfers\t%d sent, %d completed, %d failed, %d not sent (too many in flight)\n", r.Sent, r.Completed, r.Failed, r.NotSent)
	fmt.Fprintf(tw, "throughput\t%.0f completed/s\n", r.Throughput)
	fmt.Fprintf(tw, "mutation latency\tp50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n", r.Mutation.P50, r.Mutation.P90, r.Mutation.P99, r.Mutation.Max)
	fmt.Fprintf(tw, "end to end\tp50 %.1f ms  p99 %.1f ms  (%d transfers seen by a subscriber)\n", r.EndToEnd.P50, r.EndToEnd.P99, r.EndToEnd.Samples)
	fmt.Fprintf(tw, "subscribers\t%d transactions received, %d errors\n", r.TransactionsSeen, r.SubscriberErrors)
	reasons := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	for _, k := range reasons {
		fmt.Fprintf(tw, "error\t%d× %s\n", r.Errors[k], k)
	}
	names := make([]string, 0, len(r.Services))
	for k := range r.Services {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		s := r.Services[n]
		fmt.Fprintf(tw, "%s\tCPU %.2f cores, RSS %.0f MiB before subscribers, %.0f MiB before load (%.1f KiB per idle subscriber), %.0f MiB after (peak %.0f MiB)\n",
			n, s.CPUCores, s.RSSBeforeSubscribersMiB, s.RSSBeforeLoadMiB, s.KiBPerSubscriber, s.RSSMiB, s.PeakRSSMiB)
		if s.SubscribersBeforeLoad >= 0 {
			fmt.Fprintf(tw, "\t%.0f subscriptions running before load; a second after they ran, RSS %.0f MiB (%.1f KiB per subscriber)\n",
				s.SubscribersBeforeLoad, s.RSSSubscribedMiB, s.KiBPerSubscriberAtOnce)
		}
		if len(s.ConsumerLag) > 0 {
			groups := slices.Sorted(maps.Keys(s.ConsumerLag))
			lags := make([]string, len(groups))
			for i, g := range groups {
				lags[i] = fmt.Sprintf("%s %.0f (at most %.0f)", g, s.ConsumerLag[g], s.ConsumerLagPeak[g])
			}
			fmt.Fprintf(tw, "\tconsumer lag at the end of the load: %s\n", strings.Join(lags, ", "))
		}
	}
	tw.Flush()
}

func (r *results) write(file string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

// usage is a service's CPU time and memory at a moment, from the process
// collector on its /metrics.
type usage struct {
	at       time.Time
	cpu, rss float64
	// subscribers is a gateway's openbank_websocket_subscribers (-1 when
	// it has none).
	subscribers float64
	// lag is the largest openbank_consumer_lag of each group.
	lag map[string]float64
}

func (b *bench) sample(ctx context.Context) map[string]usage {
	out := map[string]usage{}
	for name, u := range b.cfg.metrics {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		res, err := b.http.Do(req)
		if err != nil {
			cancel()
			continue
		}
		s := usage{at: time.Now(), subscribers: -1, lag: map[string]float64{}}
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			name, value, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			v, _ := strconv.ParseFloat(value, 64)
			switch name {
			case "process_cpu_seconds_total":
				s.cpu = v
			case "process_resident_memory_bytes":
				s.rss = v
			case "openbank_websocket_subscribers":
				s.subscribers = v
			default:
				if g, ok := lagGroup(name); ok {
					s.lag[g] = max(s.lag[g], v)
				}
			}
		}
		res.Body.Close()
		cancel()
		out[name] = s
	}
	return out
}

// lagGroup returns the group of an openbank_consumer_lag sample, named as
// in `openbank_consumer_lag{group="openbank-alerts",partition="0",...}`.
func lagGroup(sample string) (string, bool) {
	labels, ok := strings.CutPrefix(sample, "openbank_consumer_lag")
	if !ok {
		return "", false
	}
	_, rest, ok := strings.Cut(labels, `{group="`)
	if !ok {
		_, rest, ok = strings.Cut(labels, `,group="`)
	}
	if !ok || !strings.HasPrefix(labels, "{") {
		return "", false
	}
	group, _, ok := strings.Cut(rest, `"`)
	return group, ok && group != ""
}
