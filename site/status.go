package site

import (
	"net/http"
	"slices"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/topology"
)

// ClusterStatus shows what the backbone holds: the brokers, the topics of
// the topology (and whether they exist) and the registry's subjects.
type ClusterStatus struct {
	Admin    sarama.ClusterAdmin
	Client   sarama.Client
	Registry *sr.Client
}

type topicStatus struct {
	Name       string   `json:"name"`
	Partitions int32    `json:"partitions"`
	Records    []string `json:"records"`
	Doc        string   `json:"doc"`
	Exists     bool     `json:"exists"`
}

// Serve answers /status.
func (s *ClusterStatus) Serve(w http.ResponseWriter, r *http.Request) {
	existing, err := s.Admin.ListTopics()
	if err != nil {
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "list topics: " + err.Error()})
		return
	}
	subjects, err := s.Registry.Subjects(r.Context())
	if err != nil {
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "list subjects: " + err.Error()})
		return
	}
	var topics []topicStatus
	for _, t := range topology.Topics {
		d, ok := existing[t.Name]
		topics = append(topics, topicStatus{Name: t.Name, Partitions: d.NumPartitions, Records: t.Records, Doc: t.Doc, Exists: ok})
	}
	slices.Sort(subjects)
	var brokers []string
	for _, b := range s.Client.Brokers() {
		brokers = append(brokers, b.Addr())
	}
	WriteJSON(w, http.StatusOK, map[string]any{"brokers": brokers, "topics": topics, "subjects": subjects})
}
