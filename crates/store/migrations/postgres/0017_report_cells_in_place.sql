-- The counter cells are rewritten by every import batch (thousands of them) and every
-- counted change: keys compared byte by byte (they are codes, names and numbers, so the
-- order is the same), and room left in each page so that an update stays on its page and
-- adds no index entry (a HOT update). Statement times of a 10-million-row import: writing
-- the cells 3.9 s -> 2.6 s (bench/report/README.md).
ALTER TABLE report_cells
    ALTER COLUMN period TYPE TEXT COLLATE "C",
    ALTER COLUMN dim TYPE TEXT COLLATE "C",
    ALTER COLUMN key TYPE TEXT COLLATE "C",
    ALTER COLUMN metric TYPE TEXT COLLATE "C";
ALTER TABLE report_cells SET (fillfactor = 50);
-- (No schema change for this: an import no longer summarises report_imported_batch after
-- each batch, as 0009 says; the reads that need a batch's rows summarise first, see
-- summarize_batches in crates/store/src/report_sql.rs.)
