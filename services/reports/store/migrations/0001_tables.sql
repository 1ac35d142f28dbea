-- The reports store: tables built from user_events and bank_events alone,
-- in the schema the migration runs in (search_path). No password hash and
-- no token is ever stored.

-- Users; created_at is NULL for an owner whose creation the log does not
-- hold (the company account's, say).
CREATE TABLE users (
    username   text PRIMARY KEY,
    created_at timestamptz
);

-- Accounts: owners in the order the projector keeps them, the balance in
-- cents, when the account was opened.
CREATE TABLE accounts (
    iban      text PRIMARY KEY,
    owners    text[] NOT NULL,
    balance   bigint NOT NULL,
    opened_at timestamptz NOT NULL
);

-- Transfers and their outcome. from_account is an IBAN or 'cash';
-- to_account an IBAN, of this bank or not.
CREATE TABLE transfers (
    id           uuid PRIMARY KEY,
    from_account text NOT NULL,
    to_account   text NOT NULL,
    amount       bigint NOT NULL,
    description  text NOT NULL,
    status       text NOT NULL CHECK (status IN ('started', 'completed', 'failed')),
    reason       text,
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz
);

-- Every change of a balance: ids count credits, debits and returns along
-- bank_events as the projector counts them; balance is the running
-- balance after the change; at is when the event was written. A money
-- step of a transfer happens once: (transfer_id, step) is unique.
CREATE TABLE transactions (
    id           bigint PRIMARY KEY,
    iban         text NOT NULL,
    change       bigint NOT NULL,
    balance      bigint NOT NULL,
    counterparty text NOT NULL,
    description  text NOT NULL,
    transfer_id  uuid NOT NULL,
    step         text NOT NULL CHECK (step IN ('debit', 'credit', 'return')),
    at           timestamptz NOT NULL,
    UNIQUE (transfer_id, step)
);
CREATE INDEX transactions_iban ON transactions (iban, id);

-- The audit log: every record of user_events and bank_events, repeats and
-- undecodable ones included, in log order by (at, topic, partition,
-- log_offset), which is unique: a record is there once. body is the
-- record as JSON (json, not jsonb: stored as written, cheaper to load)
-- without its password and token fields; note says why a record changed
-- nothing (a repeat, say).
CREATE TABLE events (
    topic          text NOT NULL,
    partition      int NOT NULL,
    log_offset     bigint NOT NULL,
    at             timestamptz NOT NULL,
    type           text NOT NULL,
    aggregate      text NOT NULL,
    actor          text,
    record_id      uuid,
    body           json NOT NULL,
    transaction_id bigint,
    note           text
);
CREATE UNIQUE INDEX events_log_order ON events (at, topic, partition, log_offset);

-- The position: the offset after the last record applied, per partition,
-- committed with the rows it produced.
CREATE TABLE offsets (
    topic       text NOT NULL,
    partition   int NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);

-- Events applied once by their id (owners added and removed, password
-- changes), as the projector applies them.
CREATE TABLE applied_once (
    kind text NOT NULL,
    id   uuid NOT NULL,
    PRIMARY KEY (kind, id)
);
