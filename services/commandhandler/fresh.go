package commandhandler

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/kafka"
)

// What another instance decided reaches this one through its reader of the
// events, which is lazy (eventlog.OpenLazy): it looks every
// eventlog.DefaultPoll, and at once when waited for. Most commands read
// only what the instance owning their partition decides, which is this
// one; AddUserToBankAccountCommand names a user, whom the owner of that
// username may have signed up a moment ago. So a command naming a user
// this instance does not know is decided again once the state has caught
// up with the log as it stood when the command came; only then is it
// refused as unknown. The whole batch is decided again then, as the state
// stands: every input of it came before the catch-up began, so one
// catch-up serves them all (deciding them one catch-up each, two such
// commands in a batch took turns being stale for ever).

// input names one consumed message.
type input struct {
	topic     string
	partition int32
	offset    int64
}

// staleInput is returned by decide (and so by process, which undoes the
// batch) for an input that may rest on events not read yet.
type staleInput struct{ at input }

func (s *staleInput) Error() string {
	return fmt.Sprintf("%s/%d at %d names a user this instance has not read yet", s.at.topic, s.at.partition, s.at.offset)
}

// mayBeStale returns a *staleInput if rec, read from m, names a user the
// state does not hold, unless the state has caught up since m came.
func (e *engine) mayBeStale(m *sarama.ConsumerMessage, rec schemas.Record) error {
	c, ok := rec.(*schemas.AddUserToBankAccountCommand)
	if !ok || e.state.Users[c.UserToAdd] != nil {
		return nil
	}
	at := input{m.Topic, m.Partition, m.Offset}
	if e.freshFor[at] {
		return nil
	}
	return &staleInput{at}
}

// freshen makes the state catch up with the log as it stands now before
// anything more is decided, and the inputs of batch, s among them, then be
// decided as the state stands. If the broker cannot say how far the log
// goes, nothing is marked fresh: the batch is decided again a moment
// later, stale again, and freshen asks again (no input is refused as
// unknown without a catch-up).
func (e *engine) freshen(ctx context.Context, s *staleInput, batch []item) {
	ends, err := e.events.Ends()
	if err != nil {
		e.log.Warn("cannot catch up before deciding on a user not read yet; trying again", "input", s.Error(), "err", err)
		kafka.Sleep(ctx, 200*time.Millisecond)
		return
	}
	e.catchUp = ends
	e.freshFor = map[input]bool{}
	for _, it := range batch {
		e.freshFor[input{it.msg.Topic, it.msg.Partition, it.msg.Offset}] = true
	}
}

// fresh reports whether the state has reached catchUp (if set); if not,
// the reader looks at once.
func (e *engine) fresh(ctx context.Context) bool {
	if e.catchUp == nil {
		return true
	}
	caught, err := e.events.CaughtUp(ctx, e.catchUp)
	if err != nil {
		e.log.Warn("cannot tell whether the state has caught up yet", "err", err)
	}
	if caught {
		e.catchUp = nil
	}
	return caught
}
