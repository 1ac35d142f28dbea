package schemaregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

// ---------------------------------------------------------------------------
// Schemas used across the tests.

func avroSchema(s string) sr.Schema { return sr.Schema{Schema: s, Type: sr.TypeAvro} }

var (
	userV1 = avroSchema(`{"type":"record","name":"User","namespace":"bank","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":"string"}]}`)
	// userV2 adds a field with a default: BACKWARD compatible with userV1.
	userV2 = avroSchema(`{"type":"record","name":"User","namespace":"bank","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":"string"},
		{"name":"email","type":"string","default":""}]}`)
	// userV3 adds another defaulted field on top of userV2.
	userV3 = avroSchema(`{"type":"record","name":"User","namespace":"bank","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":"string"},
		{"name":"email","type":"string","default":""},
		{"name":"tier","type":"int","default":0}]}`)
	// userAddNoDefault adds a field without default: a reader using it
	// cannot read data written with userV1.
	userAddNoDefault = avroSchema(`{"type":"record","name":"User","namespace":"bank","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":"string"},
		{"name":"age","type":"int"}]}`)
	// userNameLong changes name from string to long.
	userNameLong = avroSchema(`{"type":"record","name":"User","namespace":"bank","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":"long"}]}`)
	// userIDString changes id from long to string (no Avro promotion).
	userIDString = avroSchema(`{"type":"record","name":"User","namespace":"bank","fields":[
		{"name":"id","type":"string"},
		{"name":"name","type":"string"}]}`)
	// userRenamed changes the record's full name.
	userRenamed = avroSchema(`{"type":"record","name":"Customer","namespace":"bank","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":"string"}]}`)
	// userDropName removes a field: BACKWARD compatible (the reader ignores it).
	userDropName = avroSchema(`{"type":"record","name":"User","namespace":"bank","fields":[
		{"name":"id","type":"long"}]}`)

	// counterInt / counterLong: int -> long is an allowed Avro promotion.
	counterInt  = avroSchema(`{"type":"record","name":"Counter","fields":[{"name":"n","type":"int"}]}`)
	counterLong = avroSchema(`{"type":"record","name":"Counter","fields":[{"name":"n","type":"long"}]}`)

	orderV1 = avroSchema(`{"type":"record","name":"Order","namespace":"bank","fields":[
		{"name":"id","type":"string"},
		{"name":"amount","type":"long"}]}`)
	money = avroSchema(`{"type":"record","name":"Money","namespace":"bank","fields":[
		{"name":"amount","type":"long"},
		{"name":"currency","type":"string"}]}`)
	// moneyReformatted is money with other whitespace and key order: the
	// same schema as far as the registry is concerned.
	moneyReformatted = avroSchema(`{
  "namespace": "bank",
  "name": "Money",
  "type": "record",
  "fields": [
    {"type": "long", "name": "amount"},
    {"type": "string", "name": "currency"}
  ]
}`)
	audit    = avroSchema(`{"type":"record","name":"Audit","fields":[{"name":"at","type":"long"}]}`)
	jsonPing = sr.Schema{Type: sr.TypeJSON, Schema: `{"type":"object","properties":{"id":{"type":"string"}}}`}
	protoPng = sr.Schema{Type: sr.TypeProtobuf, Schema: `syntax = "proto3"; message Pong { string id = 1; }`}
)

// ---------------------------------------------------------------------------
// Harness.

type testRegistry struct {
	t    *testing.T
	dir  string
	reg  *Registry
	srv  *httptest.Server
	cl   *sr.Client
	once sync.Once
}

// start opens a registry under dir ("" = in memory) and serves it over HTTP.
func start(t *testing.T, dir string) *testRegistry {
	t.Helper()
	reg, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	srv := httptest.NewServer(reg.Handler())
	cl, err := sr.NewClient(sr.URLs(srv.URL))
	if err != nil {
		srv.Close()
		reg.Close()
		t.Fatalf("sr.NewClient: %v", err)
	}
	tr := &testRegistry{t: t, dir: dir, reg: reg, srv: srv, cl: cl}
	t.Cleanup(tr.stop)
	return tr
}

// stop shuts the server down and closes the registry (once).
func (tr *testRegistry) stop() {
	tr.once.Do(func() {
		tr.srv.Close()
		if err := tr.reg.Close(); err != nil {
			tr.t.Errorf("Close: %v", err)
		}
	})
}

// restart stops the registry and opens the same directory again.
func (tr *testRegistry) restart() *testRegistry {
	tr.t.Helper()
	tr.stop()
	return start(tr.t, tr.dir)
}

func (tr *testRegistry) create(subject string, s sr.Schema) sr.SubjectSchema {
	tr.t.Helper()
	ss, err := tr.cl.CreateSchema(tr.t.Context(), subject, s)
	if err != nil {
		tr.t.Fatalf("CreateSchema(%s): %v", subject, err)
	}
	return ss
}

// raw sends a request bypassing the sr client and returns status and body.
func (tr *testRegistry) raw(method, path, body string) (int, []byte) {
	tr.t.Helper()
	req, err := http.NewRequestWithContext(tr.t.Context(), method, tr.srv.URL+path, strings.NewReader(body))
	if err != nil {
		tr.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := tr.srv.Client().Do(req)
	if err != nil {
		tr.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tr.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func logPath(dir string) string { return filepath.Join(dir, "schema-registry", "schemas.jsonl") }

// logEntries returns the entries of dir's log (nil if it does not exist).
func logEntries(t *testing.T, dir string) []entry {
	t.Helper()
	b, err := os.ReadFile(logPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []entry
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("log line %d %q: %v", i+1, line, err)
		}
		out = append(out, e)
	}
	return out
}

func logLines(t *testing.T, dir string) int { t.Helper(); return len(logEntries(t, dir)) }

// asResponseError requires err to be an *sr.ResponseError with the status.
func asResponseError(t *testing.T, err error, status int) *sr.ResponseError {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want HTTP %d", status)
	}
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not an *sr.ResponseError", err, err)
	}
	if re.StatusCode != status {
		t.Fatalf("status %d (code %d, %q), want %d", re.StatusCode, re.ErrorCode, re.Message, status)
	}
	return re
}

// ---------------------------------------------------------------------------
// Persistence.

func TestIDsAndVersionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	tr := start(t, dir)

	steps := []struct {
		subject string
		schema  sr.Schema
		version int
		sameAs  int // index of an earlier step whose id this one must share; -1 = a new id
	}{
		{"users-value", userV1, 1, -1},
		{"orders-value", orderV1, 1, -1},
		{"payments-value", money, 1, -1},
		{"refunds-value", money, 1, 2},                // same schema, other subject: same id
		{"users-value", userV2, 2, -1},                // compatible second version
		{"chargebacks-value", moneyReformatted, 1, 2}, // same schema, other formatting
		{"pings-value", jsonPing, 1, -1},              // JSON schemas persist too
		{"pongs-value", protoPng, 1, -1},              // and protobuf ones
		{"users-value", userV3, 3, -1},                // third version
		{"audit-value", audit, 1, -1},
		{"users-archive-value", userV2, 1, 4},     // an older version of users-value elsewhere
		{"payments-value", money, 1, 2},           // idempotent repeat: no new version
		{"users-value", userV1, 1, 0},             // re-sending v1 returns v1
		{"chargebacks-value", money, 1, 2},        // repeat in the other formatting
		{"refunds-value", moneyReformatted, 1, 2}, // and the reverse
	}
	got := make([]sr.SubjectSchema, len(steps))
	for i, st := range steps {
		got[i] = tr.create(st.subject, st.schema)
		if got[i].Subject != st.subject || got[i].Version != st.version {
			t.Fatalf("step %d: registered as %s v%d, want %s v%d", i, got[i].Subject, got[i].Version, st.subject, st.version)
		}
		if st.sameAs >= 0 && got[i].ID != got[st.sameAs].ID {
			t.Fatalf("step %d (%s v%d): id %d, want step %d's id %d", i, st.subject, st.version, got[i].ID, st.sameAs, got[st.sameAs].ID)
		}
	}
	// Distinct schemas have distinct ids.
	owner := map[int]int{}
	for i, st := range steps {
		if st.sameAs >= 0 {
			continue
		}
		if j, dup := owner[got[i].ID]; dup {
			t.Fatalf("steps %d and %d are different schemas with the same id %d", j, i, got[i].ID)
		}
		owner[got[i].ID] = i
	}
	// One log line per subject version, however often a schema was sent.
	const versions = 11
	if n := logLines(t, dir); n != versions {
		t.Fatalf("log has %d lines, want %d", n, versions)
	}

	wantSubjects, err := tr.cl.Subjects(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(wantSubjects)
	wantVersions := map[string][]int{}
	for _, s := range wantSubjects {
		if wantVersions[s], err = tr.cl.SubjectVersions(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}

	check := func(t *testing.T, tr *testRegistry) {
		t.Helper()
		ctx := t.Context()
		subjects, err := tr.cl.Subjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(subjects)
		if !slices.Equal(subjects, wantSubjects) {
			t.Fatalf("subjects %v, want %v", subjects, wantSubjects)
		}
		for s, want := range wantVersions {
			v, err := tr.cl.SubjectVersions(ctx, s)
			if err != nil {
				t.Fatalf("SubjectVersions(%s): %v", s, err)
			}
			if !slices.Equal(v, want) {
				t.Fatalf("SubjectVersions(%s) = %v, want %v", s, v, want)
			}
		}
		for i, st := range steps {
			ss, err := tr.cl.LookupSchema(ctx, st.subject, st.schema)
			if err != nil {
				t.Fatalf("step %d: LookupSchema(%s): %v", i, st.subject, err)
			}
			if ss.ID != got[i].ID || ss.Version != got[i].Version {
				t.Fatalf("step %d: %s looked up as id %d v%d, want id %d v%d", i, st.subject, ss.ID, ss.Version, got[i].ID, got[i].Version)
			}
			byID, err := tr.cl.SchemaByID(ctx, got[i].ID)
			if err != nil {
				t.Fatalf("step %d: SchemaByID(%d): %v", i, got[i].ID, err)
			}
			if byID.Type != st.schema.Type {
				t.Fatalf("step %d: id %d has type %v, want %v", i, got[i].ID, byID.Type, st.schema.Type)
			}
			first := st.sameAs
			if first < 0 {
				first = i
			}
			for steps[first].sameAs >= 0 {
				first = steps[first].sameAs
			}
			if byID.Schema != steps[first].schema.Schema {
				t.Fatalf("step %d: id %d is %q, want %q", i, got[i].ID, byID.Schema, steps[first].schema.Schema)
			}
			bv, err := tr.cl.SchemaByVersion(ctx, st.subject, got[i].Version)
			if err != nil {
				t.Fatalf("step %d: SchemaByVersion(%s, %d): %v", i, st.subject, got[i].Version, err)
			}
			if bv.ID != got[i].ID {
				t.Fatalf("step %d: %s v%d has id %d, want %d", i, st.subject, got[i].Version, bv.ID, got[i].ID)
			}
		}
	}
	check(t, tr)

	tr = tr.restart()
	check(t, tr)
	// Re-sending everything after the restart changes nothing.
	for i, st := range steps {
		if ss := tr.create(st.subject, st.schema); ss.ID != got[i].ID || ss.Version != got[i].Version {
			t.Fatalf("step %d after restart: id %d v%d, want id %d v%d", i, ss.ID, ss.Version, got[i].ID, got[i].Version)
		}
	}
	if n := logLines(t, dir); n != versions {
		t.Fatalf("log has %d lines after re-sending, want %d", n, versions)
	}

	// New registrations after the restart get fresh ids and next versions.
	maxID := 0
	for _, g := range got {
		maxID = max(maxID, g.ID)
	}
	fresh := tr.create("ledger-value", counterInt)
	if _, taken := owner[fresh.ID]; taken || fresh.ID <= maxID {
		t.Fatalf("new schema after restart got id %d, which is not fresh (highest before %d)", fresh.ID, maxID)
	}
	if fresh.Version != 1 {
		t.Fatalf("new subject at version %d, want 1", fresh.Version)
	}
	next := tr.create("orders-value", avroSchema(`{"type":"record","name":"Order","namespace":"bank","fields":[
		{"name":"id","type":"string"},
		{"name":"amount","type":"long"},
		{"name":"note","type":["null","string"],"default":null}]}`))
	if next.Version != 2 || next.ID <= fresh.ID {
		t.Fatalf("orders-value v2 after restart: id %d v%d, want id > %d v2", next.ID, next.Version, fresh.ID)
	}
	shared := tr.create("ledger-copy-value", counterInt)
	if shared.ID != fresh.ID {
		t.Fatalf("shared schema after restart got id %d, want %d", shared.ID, fresh.ID)
	}

	// A second restart keeps both the old and the new registrations.
	wantSubjects = append(wantSubjects, "ledger-value", "ledger-copy-value")
	slices.Sort(wantSubjects)
	wantVersions["ledger-value"] = []int{1}
	wantVersions["ledger-copy-value"] = []int{1}
	wantVersions["orders-value"] = []int{1, 2}
	tr = tr.restart()
	check(t, tr)
	for _, want := range []sr.SubjectSchema{fresh, next, shared} {
		ss, err := tr.cl.SchemaByVersion(t.Context(), want.Subject, want.Version)
		if err != nil {
			t.Fatal(err)
		}
		if ss.ID != want.ID {
			t.Fatalf("%s v%d has id %d after second restart, want %d", want.Subject, want.Version, ss.ID, want.ID)
		}
	}
	if n := logLines(t, dir); n != versions+3 {
		t.Fatalf("log has %d lines, want %d", n, versions+3)
	}
}

func TestIdempotentRegistration(t *testing.T) {
	cases := []struct {
		name   string
		before []sr.Schema // registered under the subject first
		again  sr.Schema   // registered again
		wantV  int         // version it must resolve to
	}{
		{"identical text", []sr.Schema{userV1}, userV1, 1},
		{"other whitespace and key order", []sr.Schema{money}, moneyReformatted, 1},
		{"latest of two", []sr.Schema{userV1, userV2}, userV2, 2},
		{"older version", []sr.Schema{userV1, userV2, userV3}, userV1, 1},
		// userV1 cannot read data written with userDropName (name has no
		// default), but it is already registered: like Confluent, hand back
		// its id instead of refusing it.
		{"older version incompatible with latest", []sr.Schema{userV1, userDropName}, userV1, 1},
		{"json schema", []sr.Schema{jsonPing}, jsonPing, 1},
		{"protobuf schema", []sr.Schema{protoPng}, protoPng, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tr := start(t, dir)
			var ids []int
			for _, s := range tc.before {
				ids = append(ids, tr.create("subj", s).ID)
			}
			lines := logLines(t, dir)
			for range 3 {
				ss := tr.create("subj", tc.again)
				if ss.ID != ids[tc.wantV-1] || ss.Version != tc.wantV {
					t.Fatalf("re-registered as id %d v%d, want id %d v%d", ss.ID, ss.Version, ids[tc.wantV-1], tc.wantV)
				}
			}
			if n := logLines(t, dir); n != lines {
				t.Fatalf("log grew from %d to %d lines on re-registration", lines, n)
			}
			v, err := tr.cl.SubjectVersions(t.Context(), "subj")
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != len(tc.before) {
				t.Fatalf("versions %v, want %d", v, len(tc.before))
			}
			tr = tr.restart()
			if ss := tr.create("subj", tc.again); ss.ID != ids[tc.wantV-1] || ss.Version != tc.wantV {
				t.Fatalf("after restart re-registered as id %d v%d, want id %d v%d", ss.ID, ss.Version, ids[tc.wantV-1], tc.wantV)
			}
			if n := logLines(t, dir); n != lines {
				t.Fatalf("log grew from %d to %d lines on re-registration after restart", lines, n)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Compatibility.

func TestIncompatibleRegistrationRefused(t *testing.T) {
	cases := []struct {
		name    string
		base    sr.Schema
		next    sr.Schema
		wantMsg string // a substring of the compatibility message, if stable
	}{
		{"field added without default", userV1, userAddNoDefault, "age"},
		{"field type string to long", userV1, userNameLong, ""},
		{"field type long to string", userV1, userIDString, ""},
		{"record renamed", userV1, userRenamed, ""},
		{"field type long to int (narrowing)", counterLong, counterInt, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tr := start(t, dir)
			const subject = "bank.users-value"
			base := tr.create(subject, tc.base)
			lines := logLines(t, dir)
			before, err := os.ReadFile(logPath(dir))
			if err != nil {
				t.Fatal(err)
			}

			_, err = tr.cl.CreateSchema(t.Context(), subject, tc.next)
			re := asResponseError(t, err, http.StatusConflict)
			if re.ErrorCode != 409 {
				t.Errorf("error_code %d, want 409", re.ErrorCode)
			}
			if !strings.Contains(re.Message, subject) {
				t.Errorf("message %q does not name subject %q", re.Message, subject)
			}
			if !strings.Contains(strings.ToLower(re.Message), "incompatible") {
				t.Errorf("message %q does not say incompatible", re.Message)
			}
			after, err := os.ReadFile(logPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatalf("log changed by a refused registration:\n%s", after)
			}
			if v, err := tr.cl.SubjectVersions(t.Context(), subject); err != nil || !slices.Equal(v, []int{1}) {
				t.Fatalf("versions %v, %v; want [1]", v, err)
			}
			if _, err := tr.cl.LookupSchema(t.Context(), subject, tc.next); err == nil {
				t.Fatal("refused schema is registered under the subject")
			}

			// The compatibility endpoint agrees, however the version is named.
			for _, version := range []int{-1, 1, -2} { // latest, explicit, all versions
				res, err := tr.cl.CheckCompatibility(t.Context(), subject, version, tc.next)
				if err != nil {
					t.Fatalf("CheckCompatibility(version %d): %v", version, err)
				}
				if res.Is {
					t.Fatalf("CheckCompatibility(version %d) says compatible", version)
				}
				if len(res.Messages) == 0 || res.Messages[0] == "" {
					t.Fatalf("CheckCompatibility(version %d): no message", version)
				}
				if tc.wantMsg != "" && !strings.Contains(res.Messages[0], tc.wantMsg) {
					t.Errorf("message %q does not mention %q", res.Messages[0], tc.wantMsg)
				}
			}
			// A compatible schema passes the check for the same subject.
			if res, err := tr.cl.CheckCompatibility(t.Context(), subject, -1, tc.base); err != nil || !res.Is {
				t.Fatalf("CheckCompatibility of the registered schema itself: %+v, %v", res, err)
			}

			// Nothing of the refusal survives a restart, and the subject
			// still takes its own schema.
			tr = tr.restart()
			if n := logLines(t, dir); n != lines {
				t.Fatalf("log has %d lines, want %d", n, lines)
			}
			if ss := tr.create(subject, tc.base); ss.ID != base.ID || ss.Version != 1 {
				t.Fatalf("after restart: id %d v%d, want id %d v1", ss.ID, ss.Version, base.ID)
			}
			_, err = tr.cl.CreateSchema(t.Context(), subject, tc.next)
			asResponseError(t, err, http.StatusConflict)
		})
	}
}

func TestCompatibleRegistrationAccepted(t *testing.T) {
	cases := []struct {
		name string
		base sr.Schema
		next sr.Schema
	}{
		{"field added with default", userV1, userV2},
		{"nullable field added with null default", orderV1, avroSchema(`{"type":"record","name":"Order","namespace":"bank","fields":[
			{"name":"id","type":"string"},
			{"name":"amount","type":"long"},
			{"name":"memo","type":["null","string"],"default":null}]}`)},
		{"field removed", userV1, userDropName},
		{"int promoted to long", counterInt, counterLong},
		{"non-Avro schemas are not checked", jsonPing, sr.Schema{Type: sr.TypeJSON, Schema: `{"type":"string"}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tr := start(t, dir)
			base := tr.create("subj", tc.base)
			for _, version := range []int{-1, 1, -2} {
				res, err := tr.cl.CheckCompatibility(t.Context(), "subj", version, tc.next)
				if err != nil {
					t.Fatalf("CheckCompatibility(version %d): %v", version, err)
				}
				if !res.Is || len(res.Messages) != 0 {
					t.Fatalf("CheckCompatibility(version %d) = %+v, want compatible", version, res)
				}
			}
			next := tr.create("subj", tc.next)
			if next.Version != 2 || next.ID == base.ID {
				t.Fatalf("second version: id %d v%d (first id %d)", next.ID, next.Version, base.ID)
			}
			if n := logLines(t, dir); n != 2 {
				t.Fatalf("log has %d lines, want 2", n)
			}
			// The next check is against the new latest version.
			if res, err := tr.cl.CheckCompatibility(t.Context(), "subj", -1, tc.next); err != nil || !res.Is {
				t.Fatalf("check against latest: %+v, %v", res, err)
			}
			tr = tr.restart()
			if ss, err := tr.cl.SchemaByVersion(t.Context(), "subj", -1); err != nil || ss.ID != next.ID || ss.Version != 2 {
				t.Fatalf("latest after restart: %+v, %v; want id %d v2", ss, err, next.ID)
			}
		})
	}
}

func TestCompatibilityAgainstVersions(t *testing.T) {
	tr := start(t, t.TempDir())
	tr.create("subj", userV1)
	tr.create("subj", userDropName) // v2: only id
	// userAddNoDefault-like reader of v1 data: needs name, which v1 has and v2 lacks.
	cases := []struct {
		name    string
		version int
		schema  sr.Schema
		want    bool
	}{
		{"v1 reads itself", 1, userV1, true},
		{"v1 against latest v2 (name missing, no default)", -1, userV1, false},
		{"v1 against explicit v2", 2, userV1, false},
		{"v2 against v1", 1, userDropName, true},
		{"v2 against latest", -1, userDropName, true},
		{"string->long against v1", 1, userNameLong, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tr.cl.CheckCompatibility(t.Context(), "subj", tc.version, tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			if res.Is != tc.want {
				t.Fatalf("is_compatible = %v (%v), want %v", res.Is, res.Messages, tc.want)
			}
			if !res.Is && len(res.Messages) == 0 {
				t.Fatal("incompatible without a message")
			}
		})
	}
}

func TestCompatibilityNotFound(t *testing.T) {
	tr := start(t, t.TempDir())
	tr.create("subj", userV1)
	cases := []struct {
		name    string
		subject string
		version int
	}{
		{"missing subject, latest", "nope", -1},
		{"missing subject, all versions", "nope", -2},
		{"missing subject, version 1", "nope", 1},
		{"missing version", "subj", 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tr.cl.CheckCompatibility(t.Context(), tc.subject, tc.version, userV2)
			re := asResponseError(t, err, http.StatusNotFound)
			if re.ErrorCode/100 != 404 {
				t.Errorf("error_code %d, want 404xx", re.ErrorCode)
			}
		})
	}
	// The check does not create the subject.
	subjects, err := tr.cl.Subjects(t.Context())
	if err != nil || !slices.Equal(subjects, []string{"subj"}) {
		t.Fatalf("subjects %v, %v; want [subj]", subjects, err)
	}
}

// ---------------------------------------------------------------------------
// Refused endpoints.

func TestDestructiveEndpointsRefused(t *testing.T) {
	dir := t.TempDir()
	tr := start(t, dir)
	first := tr.create("subj", userV1)
	second := tr.create("subj", userV2)
	lines := logLines(t, dir)

	assertIntact := func(t *testing.T, tr *testRegistry) {
		t.Helper()
		v, err := tr.cl.SubjectVersions(t.Context(), "subj")
		if err != nil || !slices.Equal(v, []int{1, 2}) {
			t.Fatalf("versions %v, %v; want [1 2]", v, err)
		}
		for _, want := range []sr.SubjectSchema{first, second} {
			ss, err := tr.cl.SchemaByVersion(t.Context(), "subj", want.Version)
			if err != nil || ss.ID != want.ID {
				t.Fatalf("v%d: %+v, %v; want id %d", want.Version, ss, err, want.ID)
			}
		}
		// Still strict: the global compatibility level was not relaxed.
		_, err = tr.cl.CreateSchema(t.Context(), "subj", userNameLong)
		asResponseError(t, err, http.StatusConflict)
	}

	t.Run("client DeleteSubject", func(t *testing.T) {
		for _, how := range []sr.DeleteHow{sr.SoftDelete, sr.HardDelete} {
			_, err := tr.cl.DeleteSubject(t.Context(), "subj", how)
			re := asResponseError(t, err, http.StatusMethodNotAllowed)
			if re.ErrorCode != 405 || !strings.Contains(re.Message, "not supported") {
				t.Errorf("error %d %q", re.ErrorCode, re.Message)
			}
			assertIntact(t, tr)
		}
	})
	t.Run("client DeleteSchema", func(t *testing.T) {
		err := tr.cl.DeleteSchema(t.Context(), "subj", 1, sr.SoftDelete)
		asResponseError(t, err, http.StatusMethodNotAllowed)
		assertIntact(t, tr)
	})

	raw := []struct{ method, path, body string }{
		{"DELETE", "/subjects/subj", ""},
		{"DELETE", "/subjects/subj?permanent=true", ""},
		{"DELETE", "/subjects/subj/versions/1", ""},
		{"DELETE", "/subjects/subj/versions/latest", ""},
		{"DELETE", "/subjects/subj/versions/2?permanent=true", ""},
		{"PUT", "/config", `{"compatibility":"NONE"}`},
		{"PUT", "/config/subj", `{"compatibility":"NONE"}`},
		{"DELETE", "/config/subj", ""},
		{"PUT", "/mode", `{"mode":"IMPORT"}`},
		{"DELETE", "/mode", ""},
		{"PUT", "/mode/subj", `{"mode":"READONLY"}`},
		{"DELETE", "/mode/subj", ""},
		{"DELETE", "/contexts/.tenant", ""},
		// The same operations under a schema-context prefix (which srfake
		// strips, acting on the plain subject) must not slip past the
		// refusals.
		{"DELETE", "/contexts/.tenant/subjects/subj", ""},
		{"DELETE", "/contexts/tenant/subjects/subj?permanent=true", ""},
		{"DELETE", "/contexts/.tenant/subjects/subj/versions/1", ""},
		{"PUT", "/contexts/.tenant/config", `{"compatibility":"NONE"}`},
		{"PUT", "/contexts/.tenant/config/subj", `{"compatibility":"NONE"}`},
		{"DELETE", "/contexts/.tenant/config/subj", ""},
		{"PUT", "/contexts/.tenant/mode/subj", `{"mode":"READONLY"}`},
	}
	for _, rc := range raw {
		t.Run(rc.method+" "+rc.path, func(t *testing.T) {
			status, body := tr.raw(rc.method, rc.path, rc.body)
			if status != http.StatusMethodNotAllowed {
				t.Fatalf("status %d (%s), want 405", status, body)
			}
			var e struct {
				Code    int    `json:"error_code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if e.Code != 405 || !strings.Contains(e.Message, "not supported") {
				t.Fatalf("error %d %q", e.Code, e.Message)
			}
			assertIntact(t, tr)
		})
	}

	if n := logLines(t, dir); n != lines {
		t.Fatalf("log has %d lines, want %d", n, lines)
	}
	tr = tr.restart()
	assertIntact(t, tr)

	// Reads are still served by srfake.
	if status, body := tr.raw("GET", "/config", ""); status != http.StatusOK {
		t.Fatalf("GET /config: %d %s", status, body)
	}
	if status, body := tr.raw("GET", "/subjects/subj/versions/latest", ""); status != http.StatusOK || !bytes.Contains(body, []byte(`"version":2`)) {
		t.Fatalf("GET latest: %d %s", status, body)
	}
}

// A client scoped to a schema context must not register around the log and
// the compatibility check.
func TestSchemaContextWritesRefused(t *testing.T) {
	dir := t.TempDir()
	tr := start(t, dir)
	tr.create("subj", userV1)
	lines := logLines(t, dir)

	for _, name := range []string{".tenant", "tenant"} {
		ctx := sr.InContext(t.Context(), name)
		t.Run("register in "+name, func(t *testing.T) {
			_, err := tr.cl.CreateSchema(ctx, "other", orderV1)
			if err == nil {
				t.Fatal("registration through a schema context accepted")
			}
			_, err = tr.cl.CreateSchema(ctx, "subj", userNameLong)
			if err == nil {
				t.Fatal("incompatible registration through a schema context accepted")
			}
		})
		t.Run("compatibility in "+name, func(t *testing.T) {
			res, err := tr.cl.CheckCompatibility(ctx, "subj", -1, userNameLong)
			if err == nil && res.Is {
				t.Fatal("compatibility through a schema context says an incompatible schema is compatible")
			}
		})
	}
	if n := logLines(t, dir); n != lines {
		t.Fatalf("log has %d lines, want %d", n, lines)
	}
	subjects, err := tr.cl.Subjects(t.Context())
	if err != nil || !slices.Equal(subjects, []string{"subj"}) {
		t.Fatalf("subjects %v, %v; want [subj]", subjects, err)
	}
	// Reads through a context are still served.
	if _, err := tr.cl.Contexts(t.Context()); err != nil {
		t.Fatalf("Contexts: %v", err)
	}
	if subjects, err := tr.cl.Subjects(sr.InContext(t.Context(), ".tenant")); err != nil || len(subjects) != 0 {
		t.Fatalf("Subjects in context .tenant: %v, %v; want none", subjects, err)
	}
	if ss, err := tr.cl.LookupSchema(sr.InContext(t.Context(), ".tenant"), "subj", userV1); err != nil || ss.Version != 1 {
		t.Fatalf("LookupSchema in context .tenant: %+v, %v", ss, err)
	}
	tr = tr.restart()
	if v, err := tr.cl.SubjectVersions(t.Context(), "subj"); err != nil || !slices.Equal(v, []int{1}) {
		t.Fatalf("versions after restart %v, %v; want [1]", v, err)
	}
}

// ---------------------------------------------------------------------------
// Corrupt logs.

func TestCorruptLogRefusedAtOpen(t *testing.T) {
	line := func(e entry) string {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	a := line(entry{Subject: "a", Version: 1, ID: 1, Schema: userV1})
	cases := []struct {
		name    string
		content string
		wantErr string // substring of the error; "" = Open must succeed
	}{
		{"garbage line", a + "\nthis is not json\n", "line 2"},
		{"garbage first line", "{{{\n" + a + "\n", "line 1"},
		{"damaged line before a valid one", a + "\n" + `{"subject":"b","vers` + "\n" + a + "\n", "line 2"},
		{"damaged line before a torn one", a + "\n" + `{"subject":"b","vers` + "\n" + `{"subj`, "line 2"},
		{"same id for two schemas", a + "\n" + line(entry{Subject: "b", Version: 1, ID: 1, Schema: orderV1}) + "\n", "id 1"},
		{"same id for two schemas, same subject", a + "\n" + line(entry{Subject: "a", Version: 2, ID: 1, Schema: userV2}) + "\n", "id 1"},
		{"same subject version twice", a + "\n" + line(entry{Subject: "a", Version: 1, ID: 2, Schema: userV2}) + "\n", "version 1"},
		{"shared id with a wrong version", a + "\n" + line(entry{Subject: "b", Version: 3, ID: 1, Schema: userV1}) + "\n", "line 2"},
		{"invalid schema text", line(entry{Subject: "a", Version: 1, ID: 1, Schema: avroSchema("{not json")}) + "\n", "invalid schema"},
		{"unknown schema type", `{"subject":"a","version":1,"id":1,"schema":{"schema":"{}","schemaType":"XML"}}` + "\n", "line 1"},
		{"wrong field type", `{"subject":"a","version":"one","id":1,"schema":{"schema":"{}"}}` + "\n", "line 1"},
		{"line too long", a + "\n" + `{"subject":"` + strings.Repeat("x", 17<<20) + `"}` + "\n", "too long"},

		{"empty log", "", ""},
		{"blank lines", "\n\n" + a + "\n\n  \n", ""},
		{"duplicate identical line", a + "\n" + a + "\n", ""},
		{"shared id, other formatting", line(entry{Subject: "p", Version: 1, ID: 1, Schema: money}) + "\n" +
			line(entry{Subject: "q", Version: 1, ID: 1, Schema: moneyReformatted}) + "\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Dir(logPath(dir)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(logPath(dir), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			var (
				reg *Registry
				err error
			)
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("Open panicked: %v", p)
					}
				}()
				reg, err = Open(dir)
			}()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if err := reg.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				reg.Close()
				t.Fatal("Open accepted a corrupt log")
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), logPath(dir)) {
				t.Errorf("error %q does not name the file %s and %q", err, logPath(dir), tc.wantErr)
			}
			// The log is left as it was for someone to look at.
			b, rerr := os.ReadFile(logPath(dir))
			if rerr != nil {
				t.Fatal(rerr)
			}
			if string(b) != tc.content {
				t.Fatal("Open changed a corrupt log")
			}
		})
	}
}

// A crash in the middle of an append leaves an incomplete last line, never
// acknowledged: it is dropped with a warning naming the file, the file is
// cut back to its whole lines, and the next registration starts a line of
// its own.
func TestTornLastLineIsDropped(t *testing.T) {
	b, err := json.Marshal(entry{Subject: "a", Version: 1, ID: 1, Schema: userV1})
	if err != nil {
		t.Fatal(err)
	}
	whole := string(b) + "\n"
	for name, torn := range map[string]string{
		"cut in the middle":          `{"subject":"b","version":1,"id":2,"sch`,
		"cut before the newline":     string(b),
		"size written, data not yet": "\x00\x00\x00\x00\x00\x00",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Dir(logPath(dir)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(logPath(dir), []byte(whole+torn), 0o644); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			reg, err := Open(dir, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := reg.Close(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), "incomplete last line") || !strings.Contains(logs.String(), logPath(dir)) {
				t.Fatalf("no warning naming %s: %q", logPath(dir), logs.String())
			}
			if got, err := os.ReadFile(logPath(dir)); err != nil || string(got) != whole {
				t.Fatalf("log after Open: %q, %v; want the whole line only", got, err)
			}
			tr := start(t, dir)
			if s, err := tr.cl.SchemaByID(t.Context(), 1); err != nil || !sameSchema(s, userV1) {
				t.Fatalf("schema 1 after the torn line: %v, %v", s, err)
			}
			if _, err := tr.cl.CreateSchema(t.Context(), "order", orderV1); err != nil {
				t.Fatal(err)
			}
			if n := logLines(t, dir); n != 2 {
				t.Fatalf("%d log entries after a new registration, want 2", n)
			}
		})
	}
}

func TestOpenUnusableDataDir(t *testing.T) {
	dir := t.TempDir()
	// A file where the registry's directory should be.
	if err := os.WriteFile(filepath.Join(dir, "schema-registry"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if reg, err := Open(dir); err == nil {
		reg.Close()
		t.Fatal("Open succeeded with a file in place of its directory")
	}
	// A directory where the log should be.
	dir = t.TempDir()
	if err := os.MkdirAll(logPath(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if reg, err := Open(dir); err == nil {
		reg.Close()
		t.Fatal("Open succeeded with a directory in place of its log")
	}
}

// ---------------------------------------------------------------------------
// In memory.

func TestInMemory(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	tr := start(t, "")

	a := tr.create("users-value", userV1)
	b := tr.create("payments-value", money)
	c := tr.create("refunds-value", money)
	d := tr.create("users-value", userV2)
	if b.ID != c.ID || a.ID == b.ID || d.Version != 2 || d.ID == a.ID {
		t.Fatalf("ids a=%d b=%d c=%d d=%d (v%d)", a.ID, b.ID, c.ID, d.ID, d.Version)
	}
	if again := tr.create("users-value", userV1); again.ID != a.ID || again.Version != 1 {
		t.Fatalf("re-registration: %+v", again)
	}
	_, err := tr.cl.CreateSchema(t.Context(), "users-value", userAddNoDefault)
	asResponseError(t, err, http.StatusConflict)
	_, err = tr.cl.DeleteSubject(t.Context(), "users-value", sr.SoftDelete)
	asResponseError(t, err, http.StatusMethodNotAllowed)
	if res, err := tr.cl.CheckCompatibility(t.Context(), "users-value", -1, userV3); err != nil || !res.Is {
		t.Fatalf("compatibility: %+v, %v", res, err)
	}
	if s, err := tr.cl.SchemaByID(t.Context(), b.ID); err != nil || s.Schema != money.Schema {
		t.Fatalf("SchemaByID: %+v, %v", s, err)
	}
	tr.stop()
	if err := tr.reg.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	entries, err := os.ReadDir(cwd)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("in-memory registry wrote %v", entries)
	}

	// A new in-memory registry starts empty.
	tr = start(t, "")
	if subjects, err := tr.cl.Subjects(t.Context()); err != nil || len(subjects) != 0 {
		t.Fatalf("subjects %v, %v; want none", subjects, err)
	}
}

// ---------------------------------------------------------------------------
// Bad requests.

func TestInvalidRequestBody(t *testing.T) {
	dir := t.TempDir()
	tr := start(t, dir)
	tr.create("subj", userV1)
	lines := logLines(t, dir)

	schemaBody := func(s string) string {
		b, _ := json.Marshal(sr.Schema{Schema: s})
		return string(b)
	}
	huge := `{"schema":"` + strings.Repeat("x", 1<<20) + `"}`
	cases := []struct{ name, path, body string }{
		{"register: not json", "/subjects/subj/versions", "not json"},
		{"register: empty body", "/subjects/subj/versions", ""},
		{"register: truncated", "/subjects/subj/versions", `{"schema":`},
		{"register: schema is a number", "/subjects/subj/versions", `{"schema":5}`},
		{"register: unknown schema type", "/subjects/subj/versions", `{"schema":"{}","schemaType":"XML"}`},
		{"register: body over 1 MiB", "/subjects/subj/versions", huge},
		{"register new subject: schema text not json", "/subjects/fresh/versions", schemaBody("{not json")},
		{"register new subject: invalid avro", "/subjects/fresh/versions", schemaBody(`{"type":"record","name":"X"}`)},
		{"register new subject: unknown avro type", "/subjects/fresh/versions", schemaBody(`{"type":"record","name":"X","fields":[{"name":"a","type":"Missing"}]}`)},
		{"register existing subject: invalid avro", "/subjects/subj/versions", schemaBody(`"strin"`)},
		{"compatibility: not json", "/compatibility/subjects/subj/versions/latest", "not json"},
		{"compatibility: truncated", "/compatibility/subjects/subj/versions", `{`},
		{"compatibility: body over 1 MiB", "/compatibility/subjects/subj/versions/1", huge},
		{"compatibility: invalid version", "/compatibility/subjects/subj/versions/abc", schemaBody(userV2.Schema)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := tr.raw("POST", tc.path, tc.body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d (%s), want 422", status, body)
			}
			var e struct {
				Code    int    `json:"error_code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if e.Code/100 != 422 || e.Message == "" {
				t.Fatalf("error %d %q", e.Code, e.Message)
			}
		})
	}
	if n := logLines(t, dir); n != lines {
		t.Fatalf("log has %d lines, want %d", n, lines)
	}
	subjects, err := tr.cl.Subjects(t.Context())
	if err != nil || !slices.Equal(subjects, []string{"subj"}) {
		t.Fatalf("subjects %v, %v; want [subj]", subjects, err)
	}
	// The subject still takes a good new version.
	if ss := tr.create("subj", userV2); ss.Version != 2 {
		t.Fatalf("version %d, want 2", ss.Version)
	}
}

// ---------------------------------------------------------------------------
// Concurrency.

func TestConcurrentRegistrations(t *testing.T) {
	dir := t.TempDir()
	tr := start(t, dir)

	const workers = 12
	type result struct {
		subject    string
		v1, v2, sh sr.SubjectSchema
	}
	results := make([]result, workers)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			subject := fmt.Sprintf("topic-%02d-value", w)
			rec := fmt.Sprintf("Rec%02d", w)
			v1 := avroSchema(fmt.Sprintf(`{"type":"record","name":%q,"fields":[{"name":"a","type":"long"}]}`, rec))
			v2 := avroSchema(fmt.Sprintf(`{"type":"record","name":%q,"fields":[{"name":"a","type":"long"},{"name":"b","type":"string","default":"x"}]}`, rec))
			bad := avroSchema(fmt.Sprintf(`{"type":"record","name":%q,"fields":[{"name":"a","type":"string"}]}`, rec))
			r := result{subject: subject}
			var err error
			if r.v1, err = tr.cl.CreateSchema(ctx, subject, v1); err != nil {
				errs <- fmt.Errorf("%s v1: %w", subject, err)
				return
			}
			if _, err = tr.cl.CreateSchema(ctx, subject, bad); err == nil {
				errs <- fmt.Errorf("%s: incompatible schema accepted", subject)
				return
			}
			if res, err := tr.cl.CheckCompatibility(ctx, subject, -1, v2); err != nil || !res.Is {
				errs <- fmt.Errorf("%s compatibility: %+v, %v", subject, res, err)
				return
			}
			if r.v2, err = tr.cl.CreateSchema(ctx, subject, v2); err != nil {
				errs <- fmt.Errorf("%s v2: %w", subject, err)
				return
			}
			// Everyone also registers one shared schema under its own subject.
			if r.sh, err = tr.cl.CreateSchema(ctx, subject+"-shared", money); err != nil {
				errs <- fmt.Errorf("%s shared: %w", subject, err)
				return
			}
			if _, err = tr.cl.CreateSchema(ctx, subject, v1); err != nil { // idempotent repeat
				errs <- fmt.Errorf("%s v1 again: %w", subject, err)
				return
			}
			results[w] = r
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	seen := map[int]string{}
	for _, r := range results {
		if r.v1.Version != 1 || r.v2.Version != 2 || r.sh.Version != 1 {
			t.Fatalf("%s: versions %d, %d, shared %d", r.subject, r.v1.Version, r.v2.Version, r.sh.Version)
		}
		for _, ss := range []sr.SubjectSchema{r.v1, r.v2} {
			if other, dup := seen[ss.ID]; dup {
				t.Fatalf("id %d given to %s and %s v%d", ss.ID, other, ss.Subject, ss.Version)
			}
			seen[ss.ID] = fmt.Sprintf("%s v%d", ss.Subject, ss.Version)
		}
		if r.sh.ID != results[0].sh.ID {
			t.Fatalf("shared schema has ids %d and %d", r.sh.ID, results[0].sh.ID)
		}
	}
	if _, dup := seen[results[0].sh.ID]; dup {
		t.Fatalf("shared schema's id %d collides", results[0].sh.ID)
	}
	if n := logLines(t, dir); n != 3*workers {
		t.Fatalf("log has %d lines, want %d", n, 3*workers)
	}

	tr = tr.restart()
	for _, r := range results {
		for _, want := range []sr.SubjectSchema{r.v1, r.v2, r.sh} {
			ss, err := tr.cl.SchemaByVersion(t.Context(), want.Subject, want.Version)
			if err != nil {
				t.Fatalf("%s v%d: %v", want.Subject, want.Version, err)
			}
			if ss.ID != want.ID || ss.Schema.Schema != want.Schema.Schema {
				t.Fatalf("%s v%d after restart: id %d, want %d", want.Subject, want.Version, ss.ID, want.ID)
			}
			looked, err := tr.cl.LookupSchema(t.Context(), want.Subject, want.Schema)
			if err != nil || looked.ID != want.ID || looked.Version != want.Version {
				t.Fatalf("LookupSchema(%s) after restart: %+v, %v", want.Subject, looked, err)
			}
		}
	}
	// Concurrent readers and writers after the restart.
	var wg2 sync.WaitGroup
	ids := make([]int, workers)
	for w := range workers {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			ctx := context.Background()
			s := avroSchema(fmt.Sprintf(`{"type":"record","name":"After%02d","fields":[]}`, w))
			ss, err := tr.cl.CreateSchema(ctx, fmt.Sprintf("after-%02d", w), s)
			if err != nil {
				t.Errorf("after restart: %v", err)
				return
			}
			ids[w] = ss.ID
			if _, err := tr.cl.Subjects(ctx); err != nil {
				t.Errorf("Subjects: %v", err)
			}
			if _, err := tr.cl.SchemaByID(ctx, results[w].v1.ID); err != nil {
				t.Errorf("SchemaByID: %v", err)
			}
		}()
	}
	wg2.Wait()
	for _, id := range ids {
		if other, dup := seen[id]; dup {
			t.Fatalf("new id %d after restart collides with %s", id, other)
		}
		seen[id] = "after"
	}
}
