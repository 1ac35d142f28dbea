// Package contract holds what crosses a process boundary besides the Avro
// records themselves: the limits every service applies the same way and
// the rules for the values clients send (usernames, descriptions). The
// gateway checks them to answer early; the command handler checks them
// again when it decides, because anything can produce a command.
package contract
