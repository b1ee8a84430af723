//! Plain file formats that more than one part of Custodian writes: CSV tables (the
//! transparency report's downloads, the records of a production) and a minimal text PDF (the
//! report, demonstration documents). Bytes in, bytes out; no I/O.

pub mod csv;
pub mod pdf;
