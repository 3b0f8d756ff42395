//! `sqlx::migrate!` embeds the migration files at compile time; tell cargo to rebuild this crate when
//! a migration is added or edited, otherwise a stale binary would apply an old schema.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
    println!("cargo:rerun-if-changed=../../migrations/postgres");
}
