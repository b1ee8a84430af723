-- Verification at intake asks, for each target of a new request, which OTHER agencies asked
-- about it recently (verification_sql.rs, same_target_requests). With only (kind, value)
-- indexed, that meant reading every earlier request naming the target, own agency's
-- included, so intake slowed as one agency's requests about one target accumulated. The
-- agency and the time of receipt are now kept beside each target (a request's agency and
-- receipt never change), and the index answers the question by ranges that skip the asking
-- agency's own requests.
ALTER TABLE request_targets ADD COLUMN agency_id UUID;
ALTER TABLE request_targets ADD COLUMN received_at TIMESTAMPTZ;
UPDATE request_targets t SET agency_id = r.agency_id, received_at = r.received_at
    FROM requests r WHERE r.id = t.request_id;
ALTER TABLE request_targets ALTER COLUMN agency_id SET NOT NULL;
ALTER TABLE request_targets ALTER COLUMN received_at SET NOT NULL;
DROP INDEX request_targets_value;
CREATE INDEX request_targets_seen ON request_targets (kind, value, agency_id, received_at);
