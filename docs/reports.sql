-- Open Bank: the back office's reports, over the SQL read store that
-- `bank reports` keeps (schema `reports`; see "Reports and audit" in the
-- README). Amounts are euro cents; days and months are UTC days and
-- months. Run them all with
--
--   psql "$REPORTS_DB" -f docs/reports.sql
--
-- or copy one. Each query starts with a `-- name:` line; the tests
-- (services/reports/store, TestReportsOnAKnownDataSet) run each against a
-- known data set and check its figures.

-- name: daily_totals
-- Money in and out per day: credits (deposits, incoming transfers, money
-- returned) and debits, with their count.
SELECT (at AT TIME ZONE 'UTC')::date AS day,
       CASE WHEN change > 0 THEN 'credit' ELSE 'debit' END AS direction,
       count(*) AS transactions,
       sum(abs(change))::bigint AS total
FROM reports.transactions
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: month_end_balances
-- Every account's balance at the end of each month, from the first month
-- with a transaction to the last, for the accounts open by then.
WITH months AS (
    SELECT generate_series(date_trunc('month', min(at AT TIME ZONE 'UTC')),
                           date_trunc('month', max(at AT TIME ZONE 'UTC')),
                           interval '1 month') AS month
    FROM reports.transactions
)
SELECT (m.month + interval '1 month' - interval '1 day')::date AS month_end,
       a.iban,
       coalesce((SELECT t.balance
                 FROM reports.transactions t
                 WHERE t.iban = a.iban AND t.at < (m.month + interval '1 month') AT TIME ZONE 'UTC'
                 ORDER BY t.id DESC
                 LIMIT 1), 0) AS balance
FROM months m
CROSS JOIN reports.accounts a
WHERE a.opened_at < (m.month + interval '1 month') AT TIME ZONE 'UTC'
ORDER BY 1, 2;

-- name: largest_transfers
-- The ten largest completed transfers.
SELECT id, from_account, to_account, amount, description, ended_at
FROM reports.transfers
WHERE status = 'completed'
ORDER BY amount DESC, ended_at, id
LIMIT 10;

-- name: sent_outside_per_day
-- Money that left the bank per day: completed transfers to an IBAN that
-- is no account of this bank.
SELECT (t.ended_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS transfers,
       sum(t.amount)::bigint AS total
FROM reports.transfers t
WHERE t.status = 'completed'
  AND t.from_account <> 'cash'
  AND NOT EXISTS (SELECT 1 FROM reports.accounts a WHERE a.iban = t.to_account)
GROUP BY 1
ORDER BY 1;

-- name: failed_by_reason
-- Failed transfers by reason: how many, and how much they would have moved.
SELECT reason,
       count(*) AS transfers,
       sum(amount)::bigint AS amount
FROM reports.transfers
WHERE status = 'failed'
GROUP BY reason
ORDER BY transfers DESC, reason;
