-- Verification of the requester reads, at every intake, whether the officer has sent requests
-- and emergencies before (verification_sql.rs, officer_history). Without this index that was a
-- scan of every request ever received, so intake slowed as the table grew.
CREATE INDEX requests_submitted_by ON requests (submitted_by, emergency);
