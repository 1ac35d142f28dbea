// Package schemaregistry runs the embedded Schema Registry: franz-go's
// srfake, which serves the Confluent REST API from memory, made durable and
// strict. Every registered version is appended to a log in the data
// directory and seeded back at start, so schema ids stay stable across
// restarts; registrations are checked for BACKWARD compatibility (srfake
// itself accepts anything).
//
// The log is crash-safe: each entry is one line, written and fsynced before
// the registration is answered (the directory too when the log is created).
// A crash in the middle of an append leaves an incomplete last line, which
// was never answered: it is dropped and cut off at the next start. Any other
// damage stops the start with an error naming the file and the line.
package schemaregistry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/openbank/bank/durable"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// Registry is the embedded schema registry.
type Registry struct {
	fake    *srfake.Registry
	handler http.Handler

	mu     sync.Mutex
	log    *os.File                    // nil when not persisted
	latest map[string]sr.SubjectSchema // newest version of each subject
	ids    map[int]sr.Schema           // every schema by id
}

// entry is one line of the registry's log.
type entry struct {
	Subject string    `json:"subject"`
	Version int       `json:"version"`
	ID      int       `json:"id"`
	Schema  sr.Schema `json:"schema"`
}

// Option configures Open.
type Option func(*options)

type options struct{ log *slog.Logger }

// WithLogger sets where warnings go (slog's default logger otherwise).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// maxLine bounds one log line: a schema larger than this is not ours.
const maxLine = 16 << 20

// Open returns a registry persisted under dataDir (in memory only when
// dataDir is empty), replaying what was registered before.
func Open(dataDir string, opts ...Option) (*Registry, error) {
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Registry{fake: srfake.NewRegistry(), latest: map[string]sr.SubjectSchema{}, ids: map[int]sr.Schema{}}
	if dataDir != "" {
		dir := filepath.Join(dataDir, "schema-registry")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("schema registry data dir: %w", err)
		}
		path := filepath.Join(dir, "schemas.jsonl")
		_, statErr := os.Stat(path)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open schema log: %w", err)
		}
		if errors.Is(statErr, os.ErrNotExist) {
			// A new log, and perhaps a new directory: their entries
			// must survive a power cut like the log's content.
			if err := errors.Join(durable.SyncDir(dir), durable.SyncDir(dataDir)); err != nil {
				f.Close()
				return nil, fmt.Errorf("create schema log %s: %w", path, err)
			}
		}
		if err := r.replay(f, o.log); err != nil {
			f.Close()
			return nil, fmt.Errorf("replay schema log %s: %w", path, err)
		}
		r.log = f
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /subjects/{subject}/versions", r.register)
	mux.HandleFunc("POST /compatibility/subjects/{subject}/versions/{version}", r.compatibility)
	mux.HandleFunc("POST /compatibility/subjects/{subject}/versions", r.compatibility)
	for _, route := range []string{
		"DELETE /subjects/{subject}", "DELETE /subjects/{subject}/versions/{version}",
		"PUT /config", "PUT /config/{subject}", "DELETE /config/{subject}",
		"PUT /mode", "DELETE /mode", "PUT /mode/{subject}", "DELETE /mode/{subject}",
		"DELETE /contexts/{context}",
	} {
		mux.HandleFunc(route, refuse)
	}
	// srfake serves /contexts/{context}/... by stripping the prefix and acting
	// on the plain subject: reads are harmless, but a write there would get
	// around the log, the compatibility check and the refusals above.
	mux.Handle("GET /contexts/{context}/", r.fake.Handler())
	mux.Handle("POST /contexts/{context}/subjects/{subject}", r.fake.Handler()) // lookup
	mux.HandleFunc("/contexts/{context}/", refuseContext)
	mux.Handle("/", r.fake.Handler())
	r.handler = mux
	return r, nil
}

// replay registers every entry of the log. The bytes after the last
// newline are an append a crash cut short (each entry is written with its
// newline, then fsynced, then answered): once the rest is known to be
// sound, they are cut off with a warning. A log with any other damage is
// left as it is, for someone to look at.
func (r *Registry) replay(f *os.File, log *slog.Logger) error {
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	complete := bytes.LastIndexByte(data, '\n') + 1
	if err := r.replayLines(data[:complete]); err != nil {
		return err
	}
	if torn := data[complete:]; len(torn) > 0 {
		log.Warn("schema registry: dropping an incomplete last line of the log, an append cut short by a crash (never acknowledged)",
			"file", f.Name(), "line", bytes.Count(data[:complete], []byte("\n"))+1, "bytes", len(torn))
		if err := f.Truncate(int64(complete)); err != nil {
			return fmt.Errorf("cutting off the incomplete last line: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("cutting off the incomplete last line: %w", err)
		}
	}
	return nil
}

// replayLines registers the entries of whole, newline-terminated lines.
func (r *Registry) replayLines(data []byte) (err error) {
	defer func() {
		// SeedSchema panics on a duplicate or invalid entry: the log is
		// corrupt, which must stop the start, not crash it.
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt entry: %v", p)
		}
	}()
	lines := bytes.Split(data, []byte("\n"))
	for i, text := range lines[:len(lines)-1] {
		line := i + 1
		if len(text) > maxLine {
			return fmt.Errorf("line %d: too long (%d bytes)", line, len(text))
		}
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(text, &e); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if known, ok := r.ids[e.ID]; ok {
			if !sameSchema(known, e.Schema) {
				return fmt.Errorf("line %d: id %d names two schemas", line, e.ID)
			}
			// The same schema under another subject shares its id, which
			// registration reuses; check it lands where it did before.
			id, version, err := r.fake.RegisterSchema(e.Subject, e.Schema)
			if err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			if id != e.ID || version != e.Version {
				return fmt.Errorf("line %d: %s replayed as id %d version %d, logged as id %d version %d",
					line, e.Subject, id, version, e.ID, e.Version)
			}
		} else {
			r.fake.SeedSchema(e.Subject, e.Version, e.ID, e.Schema)
			r.ids[e.ID] = e.Schema
		}
		if cur, ok := r.latest[e.Subject]; !ok || e.Version > cur.Version {
			r.latest[e.Subject] = sr.SubjectSchema{Subject: e.Subject, Version: e.Version, ID: e.ID, Schema: e.Schema}
		}
	}
	return nil
}

// sameSchema says whether srfake takes a and b for one schema: it compares
// Avro and JSON schemas as parsed JSON (so formatting and key order do not
// count), and their references.
func sameSchema(a, b sr.Schema) bool {
	if a.Type != b.Type || len(a.References) != len(b.References) {
		return false
	}
	byName := func(x, y sr.SchemaReference) int { return strings.Compare(x.Name, y.Name) }
	ra, rb := slices.Clone(a.References), slices.Clone(b.References)
	slices.SortFunc(ra, byName)
	slices.SortFunc(rb, byName)
	if !slices.Equal(ra, rb) {
		return false
	}
	if a.Schema == b.Schema || a.Type == sr.TypeProtobuf {
		return a.Schema == b.Schema
	}
	var va, vb any
	if json.Unmarshal([]byte(a.Schema), &va) != nil || json.Unmarshal([]byte(b.Schema), &vb) != nil {
		return false
	}
	na, errA := json.Marshal(va)
	nb, errB := json.Marshal(vb)
	return errA == nil && errB == nil && bytes.Equal(na, nb)
}

// Handler serves the Confluent Schema Registry REST API.
func (r *Registry) Handler() http.Handler { return r.handler }

// Close closes the registry's log.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log == nil {
		return nil
	}
	err := r.log.Close()
	r.log = nil
	return err
}

func (r *Registry) register(w http.ResponseWriter, req *http.Request) {
	subject := req.PathValue("subject")
	var s sr.Schema
	if !decode(w, req, &s) {
		return
	}
	if s.Type == sr.TypeAvro && len(s.References) == 0 {
		// srfake only checks that it is JSON; an id handed out for a
		// schema no one can parse could never be deleted, and would fail
		// every later compatibility check of the subject.
		if _, err := avro.ParseWithCache(s.Schema, "", &avro.SchemaCache{}); err != nil {
			writeError(w, http.StatusUnprocessableEntity, 42201, "Invalid schema: "+err.Error())
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.latest[subject]; ok && !r.registered(subject, prev.Version, s) {
		if problems := backwardProblems(s, prev.Schema); len(problems) > 0 {
			writeError(w, http.StatusConflict, 409, fmt.Sprintf(
				"Schema being registered is incompatible with an earlier schema for subject %q (version %d): %s",
				subject, prev.Version, problems[0]))
			return
		}
	}
	id, version, err := r.fake.RegisterSchema(subject, s)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, 42201, err.Error())
		return
	}
	if prev, ok := r.latest[subject]; !ok || version > prev.Version {
		if r.log != nil {
			if err := r.append(entry{Subject: subject, Version: version, ID: id, Schema: s}); err != nil {
				// The registration cannot be made durable: refuse it
				// rather than hand out an id a restart would forget.
				writeError(w, http.StatusInternalServerError, 50001, "persist schema: "+err.Error())
				return
			}
		}
		r.latest[subject] = sr.SubjectSchema{Subject: subject, Version: version, ID: id, Schema: s}
		r.ids[id] = s
	}
	writeJSON(w, http.StatusOK, map[string]int{"id": id})
}

// registered says whether s is already one of subject's versions up to
// latest: registering it again hands back that version, with no
// compatibility check (as Confluent does).
func (r *Registry) registered(subject string, latest int, s sr.Schema) bool {
	for v := latest; v >= 1; v-- {
		if old, ok := r.fake.GetSchema(subject, v); ok && sameSchema(old.Schema, s) {
			return true
		}
	}
	return false
}

// append writes one entry and syncs it, so an id handed out survives a crash.
func (r *Registry) append(e entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := r.log.Write(append(b, '\n')); err != nil {
		return err
	}
	return r.log.Sync()
}

func (r *Registry) compatibility(w http.ResponseWriter, req *http.Request) {
	subject := req.PathValue("subject")
	var s sr.Schema
	if !decode(w, req, &s) {
		return
	}
	r.mu.Lock()
	prev, ok := r.latest[subject]
	r.mu.Unlock()
	if v := req.PathValue("version"); v != "" && v != "latest" && v != "-1" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, 42202, "invalid version "+v)
			return
		}
		prev, ok = r.fake.GetSchema(subject, n)
	}
	if !ok {
		writeError(w, http.StatusNotFound, 40401, fmt.Sprintf("Subject %q or its version not found", subject))
		return
	}
	problems := backwardProblems(s, prev.Schema)
	writeJSON(w, http.StatusOK, map[string]any{"is_compatible": len(problems) == 0, "messages": problems})
}

// backwardProblems says why a reader using next could not read data written
// with prev (empty when it can: BACKWARD compatibility). Only Avro is checked.
func backwardProblems(next, prev sr.Schema) []string {
	if next.Type != sr.TypeAvro || prev.Type != sr.TypeAvro {
		return nil
	}
	reader, err := avro.ParseWithCache(next.Schema, "", &avro.SchemaCache{})
	if err != nil {
		return []string{"new schema: " + err.Error()}
	}
	writer, err := avro.ParseWithCache(prev.Schema, "", &avro.SchemaCache{})
	if err != nil {
		return []string{"registered schema: " + err.Error()}
	}
	if err := avro.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
		return []string{err.Error()}
	}
	return nil
}

func decode(w http.ResponseWriter, req *http.Request, into *sr.Schema) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, into)
	}
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, 42201, "invalid schema request: "+err.Error())
		return false
	}
	return true
}

func refuse(w http.ResponseWriter, req *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, 405,
		req.Method+" "+req.URL.Path+" is not supported by the embedded schema registry: it keeps every schema so ids stay stable")
}

func refuseContext(w http.ResponseWriter, req *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, 405,
		req.Method+" "+req.URL.Path+" is not supported by the embedded schema registry: schema contexts are read-only, use the default context")
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"error_code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
