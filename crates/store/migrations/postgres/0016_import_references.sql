-- An imported reference is no longer kept unique by an index (PostgreSQL only). Every import
-- batch takes the audit lock before it reads or writes report_imported, so batches are stored
-- one after another; each checks its references against the set of those stored before,
-- which the importing process reads once and then keeps up to date (KnownReferences in
-- crates/store/src/report_sql.rs). The unique B-tree cost PostgreSQL about as much time per
-- row as the whole of psql's \copy of the same file (bench/report/README.md), and it served
-- nothing else: a request's facts are looked up by object in report_facts, and an imported
-- row only when its facts are corrected (a scan, for a rare change by an administrator).
ALTER TABLE report_imported DROP CONSTRAINT report_imported_object_key;
