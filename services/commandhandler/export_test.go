package commandhandler

import (
	"time"

	"github.com/IBM/sarama"
)

// Hooks and counters for the tests of package commandhandler_test.

// SetBeforeCommit makes f run before each transaction commits.
func SetBeforeCommit(c *Config, f func(sarama.ConsumerGroupSession)) { c.beforeCommit = f }

// Counters of this process's command handlers.
var Transactions, LocalSteps = transactions, localSteps

// SetEventsPoll makes the instance's reader of the events look every d
// when no one waits for it.
func SetEventsPoll(c *Config, d time.Duration) { c.eventsPoll = d }
