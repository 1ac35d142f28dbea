package contract_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/openbank/bank/"

// imports lists, per package of the module (by path inside it), what its
// non-test files import. Tests may compose several services in one
// process (integration tests do); product code may not.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata" || rel == "third_party") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = pkg.Imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("found %d packages: is the walk in the right place?", len(out))
	}
	return out
}

// service names the service a package belongs to ("" for none).
func service(pkg string) string {
	if parts := strings.Split(pkg, "/"); len(parts) >= 2 && parts[0] == "services" {
		return parts[1]
	}
	return ""
}

// The rules of how the code is laid out, as data: a reader (and a
// reviewer) finds them here, and a change that breaks one fails.
func TestServicesMeetOnlyThroughContracts(t *testing.T) {
	for pkg, imps := range imports(t) {
		for _, imp := range imps {
			inner, ours := strings.CutPrefix(imp, module)
			switch {
			case ours && service(pkg) != "" && service(inner) != "" && service(pkg) != service(inner):
				t.Errorf("%s imports %s: a service never imports another's package; what crosses the boundary belongs in contract, schemas or topology", pkg, inner)
			case ours && strings.HasPrefix(pkg, "graph") && service(inner) != "" && inner != "services/gateway/ratelimit":
				t.Errorf("%s imports %s: the API speaks to the services only over the bus, with contract's types", pkg, inner)
			case ours && slices.Contains([]string{"contract", "schemas", "money", "bus", "eventlog", "topology"}, strings.Split(pkg, "/")[0]) &&
				(service(inner) != "" || strings.HasPrefix(inner, "graph")) && pkg != "topology/kafka/kafkatest":
				t.Errorf("%s imports %s: the shared packages depend on no service", pkg, inner)
			}
		}
	}
}

func TestTheDomainHasNoKafkaInIt(t *testing.T) {
	domains := []string{"services/commandhandler/domain", "services/projector/projection", "services/alerts/rule", "contract", "money"}
	all := imports(t)
	for _, pkg := range domains {
		imps, ok := all[pkg]
		if !ok {
			t.Errorf("no package %s: update this test", pkg)
		}
		for _, imp := range imps {
			if strings.Contains(imp, "sarama") || strings.Contains(imp, "franz-go") || imp == module+"bus" ||
				imp == module+"eventlog" || strings.HasPrefix(imp, module+"topology/kafka") || imp == "net/http" {
				t.Errorf("%s imports %s: decisions and projections are plain Go; Kafka stays at the edges", pkg, imp)
			}
		}
	}
}

// sarama is the one Kafka client of the product; franz-go provides the
// embedded broker (kfake) and the registry (sr), never a client.
func TestSaramaIsTheOnlyKafkaClient(t *testing.T) {
	for pkg, imps := range imports(t) {
		for _, imp := range imps {
			if strings.HasPrefix(imp, "github.com/twmb/franz-go/pkg/kgo") || strings.HasPrefix(imp, "github.com/segmentio/kafka-go") ||
				strings.HasPrefix(imp, "github.com/confluentinc/confluent-kafka-go") {
				t.Errorf("%s imports the Kafka client %s; use sarama (topology/kafka)", pkg, imp)
			}
		}
	}
}
