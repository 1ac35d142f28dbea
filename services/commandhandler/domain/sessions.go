package domain

import (
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
)

// ChangePassword decides on a user's new password (hashed; the gateway has
// checked the old one). Every session issued until then ends with it, in
// the same transaction, so a stolen session does not outlive the change.
func (s *State) ChangePassword(c *schemas.ChangePasswordCommand) Decision {
	switch {
	case s.decided(&schemas.PasswordChangedEvent{ID: c.ID}):
		return Decision{Feedback: []schemas.Record{succeeded(c.ID, changePass, "")}}
	case s.Users[c.Username] == nil:
		return failed(c.ID, changePass, contract.UserUnknown)
	case c.Password == "":
		return failed(c.ID, changePass, contract.PasswordEmpty)
	case len(c.Password) > contract.MaxPasswordHash:
		return failed(c.ID, changePass, contract.PasswordHashSize)
	}
	return Decision{
		Events: []schemas.Record{
			&schemas.PasswordChangedEvent{ID: c.ID, Username: c.Username, Password: c.Password},
			&schemas.SessionsRevokedEvent{ID: c.ID, Username: c.Username, RevokedAt: c.RevokedAt},
		},
		Feedback: []schemas.Record{succeeded(c.ID, changePass, "")},
	}
}

// RevokeSessions decides on a user logging out everywhere.
func (s *State) RevokeSessions(c *schemas.RevokeSessionsCommand) Decision {
	if s.Users[c.Username] == nil {
		return failed(c.ID, revokeSess, contract.UserUnknown)
	}
	return Decision{
		Events:   []schemas.Record{&schemas.SessionsRevokedEvent{ID: c.ID, Username: c.Username, RevokedAt: c.RevokedAt}},
		Feedback: []schemas.Record{succeeded(c.ID, revokeSess, "")},
	}
}
