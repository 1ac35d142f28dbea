package kafka

import "github.com/IBM/sarama"

// OffsetsApart returns client with its offset lookups answered by lookups,
// a client on connections of its own. Opening a partition, sarama asks for
// its oldest and newest offsets on the connection its fetches use, and a
// broker answers one connection's requests in order: behind a long poll on
// idle partitions (ConsumerConfig's MaxWaitTime) each lookup waited the
// poll out, and opening 24 idle partitions of a real Kafka took 24 s.
func OffsetsApart(client, lookups sarama.Client) sarama.Client {
	if client == lookups {
		return client
	}
	return offsetsApart{Client: client, lookups: lookups}
}

type offsetsApart struct {
	sarama.Client
	lookups sarama.Client
}

func (c offsetsApart) GetOffset(topic string, partition int32, at int64) (int64, error) {
	return c.lookups.GetOffset(topic, partition, at)
}

// Addrs returns the addresses of the brokers client knows.
func Addrs(client sarama.Client) []string {
	var out []string
	for _, b := range client.Brokers() {
		out = append(out, b.Addr())
	}
	return out
}
