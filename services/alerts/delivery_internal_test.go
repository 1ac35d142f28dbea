package alerts

import (
	"maps"
	"testing"

	"github.com/IBM/sarama"
)

func TestDestinationsAreSchemeHostAndPort(t *testing.T) {
	for in, want := range map[string]string{
		"https://Hooks.Example.org/a?b=c":  "https://hooks.example.org:443",
		"https://hooks.example.org:443/x":  "https://hooks.example.org:443",
		"http://hooks.example.org/other":   "http://hooks.example.org:80",
		"http://127.0.0.1:8080/hook":       "http://127.0.0.1:8080",
		"http://127.0.0.1:8081/hook":       "http://127.0.0.1:8081",
		"https://[2001:db8::1]:8443/h":     "https://[2001:db8::1]:8443",
		"not a url with a %zz in it":       "not a url with a %zz in it",
		"https://user:pw@example.org/hook": "https://example.org:443",
	} {
		if got := destinationOf(in); got != want {
			t.Errorf("destinationOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// The committed offset is the lowest alert not yet done; its metadata
// says how far the partition was read and which alerts above it are
// still pending, and reads back the same.
func TestTheDeliveryStateRoundTrips(t *testing.T) {
	tr := &tracker{next: 120, pending: map[int64]bool{117: true, 103: true, 119: true}}
	off, meta := tr.mark()
	if off != 103 || meta != "w1:17:0,14,16" {
		t.Fatalf("mark = %d %q", off, meta)
	}
	st, err := decodeState(off, meta)
	if err != nil {
		t.Fatal(err)
	}
	if st.end != 120 || !maps.Equal(st.pending, map[int64]bool{103: true, 117: true, 119: true}) {
		t.Errorf("decoded %+v", st)
	}
	tr = &tracker{next: 50, pending: map[int64]bool{}}
	if off, meta := tr.mark(); off != 50 || meta != "w1:0:" {
		t.Errorf("nothing pending: %d %q", off, meta)
	}
	if st, err := decodeState(7, ""); err != nil || st.end != 7 || len(st.pending) != 0 {
		t.Errorf("no metadata (an older version's commit): %+v %v", st, err)
	}
	for _, bad := range []string{"x", "w1:3", "w2:1:", "w1:-1:", "w1:3:3", "w1:3:a"} {
		if _, err := decodeState(0, bad); err == nil {
			t.Errorf("decodeState(%q) took it", bad)
		}
	}
	// The most a partition holds pending, far apart, fits Kafka's
	// default offset.metadata.max.bytes (4096).
	tr = &tracker{next: 1 << 40, pending: map[int64]bool{}}
	for i := range int64(defaultMaxPending) {
		tr.pending[i*(1<<32)] = true
	}
	if _, meta := tr.mark(); len(meta) > 4096 {
		t.Errorf("the metadata of %d pending alerts is %d bytes", defaultMaxPending, len(meta))
	}
}

// session records what a tracker commits.
type session struct {
	sarama.ConsumerGroupSession
	offset  int64
	meta    string
	commits int
}

func (s *session) MarkOffset(_ string, _ int32, off int64, meta string) {
	if off > s.offset { // as sarama's offset manager does
		s.offset, s.meta = off, meta
	}
}

func (s *session) ResetOffset(_ string, _ int32, off int64, meta string) {
	if off <= s.offset {
		s.offset, s.meta = off, meta
	}
}

func (s *session) Commit() { s.commits++ }

// A session that starts on a committed offset with pending alerts commits
// its own state even while the offset stays (sarama's MarkOffset would
// keep the old metadata), and moves the offset once they are done.
func TestATrackerCommitsItsStateAtTheSameOffset(t *testing.T) {
	sess := &session{offset: 5, meta: "w1:2:0"} // 5 pending, 6 done
	tr := &tracker{next: 5, pending: map[int64]bool{}, committed: 5, committedMeta: ""}
	tr.pending[5] = true
	tr.next = 9 // 7 and 8 delivered, 5 still pending
	tr.commit(sess, "alerts", 0)
	if sess.offset != 5 || sess.meta != "w1:4:0" || sess.commits != 1 {
		t.Fatalf("committed %d %q (%d commits), want 5 w1:4:0", sess.offset, sess.meta, sess.commits)
	}
	tr.commit(sess, "alerts", 0)
	if sess.commits != 1 {
		t.Error("committed again with nothing changed")
	}
	tr.done(5)
	tr.commit(sess, "alerts", 0)
	if sess.offset != 9 || sess.meta != "w1:0:" {
		t.Errorf("committed %d %q, want 9 w1:0:", sess.offset, sess.meta)
	}
}
