//! Checks against a real PostgreSQL server.
//!
//! `cluster`: a throwaway cluster. `server`: the server `pgsafe verify`/`apply` work on (that
//! cluster, or a local one by URL, scratch databases only). `equivalence`: run draft and plan,
//! compare schemas. `trace`: the locks each statement and step really takes. `load`: simulated
//! traffic and its stalls. `rows`: synthetic rows (`--rows`). `run`: `pgsafe verify` itself. `apply`: `pgsafe apply`, a careful runner.
pub mod apply;
pub mod cluster;
pub mod equivalence;
pub mod load;
pub mod password;
pub mod rows;
pub mod run;
pub mod server;
pub mod trace;
