package broker

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

// childDirEnv makes the test binary run a broker on that data dir (see
// TestBrokerChildProcess), so a test can SIGKILL it.
const childDirEnv = "BROKER_TEST_CHILD_DIR"

// TestBrokerChildProcess is not a test: run by startChild in a child
// process, it starts a broker, prints its address and waits to be killed.
func TestBrokerChildProcess(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("runs only as the child process of a crash test")
	}
	b, err := Start(Config{DataDir: dir})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("addr:", b.Addr())
	select {}
}

// startChild runs a broker on dir in a child process and returns its
// address and the process.
func startChild(t *testing.T, dir string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokerChildProcess$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), "addr: "); ok {
			return addr, cmd
		}
		if strings.HasPrefix(lines.Text(), "error:") {
			t.Fatalf("child broker: %s", lines.Text())
		}
	}
	t.Fatalf("child broker exited without an address: %v", lines.Err())
	return "", nil
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin([]string{addr}, kafka.NewConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
}

func txnProducer(t *testing.T, addr, txnID string) sarama.SyncProducer {
	t.Helper()
	cfg := kafka.TransactionalConfig("test", txnID)
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// txn sends values to partition 0 in one transaction, committed or
// aborted.
func txn(t *testing.T, p sarama.SyncProducer, topic string, commit bool, values ...string) {
	t.Helper()
	if err := p.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder(v)}); err != nil {
			t.Fatal(err)
		}
	}
	end := p.CommitTxn
	if !commit {
		end = p.AbortTxn
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
}

// readCommitted returns what a read_committed sarama consumer reads from
// partition 0, from the oldest offset, once it has reached the end.
func readCommitted(t *testing.T, addr, topic string) []string {
	t.Helper()
	cfg := kafka.ConsumerConfig("test")
	cl, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	end, err := cl.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sarama.NewConsumerFromClient(cl)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var got []string
	// Control records are never delivered: read until the last one is
	// known to be behind the consumer, or nothing comes for a while.
	idle := time.NewTimer(2 * time.Second)
	defer idle.Stop()
	for {
		select {
		case m := <-pc.Messages():
			got = append(got, string(m.Value))
			if m.Offset+1 >= end {
				return got
			}
			idle.Reset(500 * time.Millisecond)
		case err := <-pc.Errors():
			t.Fatal(err)
		case <-idle.C:
			return got
		}
	}
}

// The bank's regression test of the embedded broker with its Kafka client:
// sarama commits and aborts transactions, the broker restarts, cleanly and
// after SIGKILL with a transaction open, and a read_committed sarama
// consumer reads exactly the committed records, each once.
func TestSaramaTransactionsSurviveRestartAndSIGKILL(t *testing.T) {
	dir := t.TempDir()
	const topic = "txns"

	b, err := Start(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	createTopic(t, b.Addr(), topic, 1)
	p := txnProducer(t, b.Addr(), "bank-test")
	txn(t, p, topic, true, "c1", "c2")
	txn(t, p, topic, false, "a1")
	txn(t, p, topic, true, "c3")
	p.Close()
	b.Close()

	b, err = Start(Config{DataDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	want := []string{"c1", "c2", "c3"}
	if got := readCommitted(t, b.Addr(), topic); !slices.Equal(got, want) {
		t.Fatalf("after a clean restart read_committed reads %q, want %q", got, want)
	}
	b.Close()

	// The broker in a child process, killed with a transaction open.
	addr, child := startChild(t, dir)
	p = txnProducer(t, addr, "bank-test")
	txn(t, p, topic, true, "c4")
	txn(t, p, topic, false, "a2")
	if err := p.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder("open")}); err != nil {
		t.Fatal(err)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := child.Wait(); !errors.As(err, &exit) {
		t.Fatalf("child broker: %v", err)
	}
	p.Close()

	b, err = Start(Config{DataDir: dir})
	if err != nil {
		t.Fatalf("restart after SIGKILL: %v", err)
	}
	defer b.Close()
	want = append(want, "c4")
	if got := readCommitted(t, b.Addr(), topic); !slices.Equal(got, want) {
		t.Fatalf("after SIGKILL read_committed reads %q, want %q", got, want)
	}
	// The producer's next incarnation commits again, and the recovered
	// abort does not hide it.
	p = txnProducer(t, b.Addr(), "bank-test")
	defer p.Close()
	txn(t, p, topic, true, "c5")
	want = append(want, "c5")
	if got := readCommitted(t, b.Addr(), topic); !slices.Equal(got, want) {
		t.Fatalf("after a commit following the recovery read_committed reads %q, want %q", got, want)
	}
}
