//! The `vaults` binary, run by the tests as a user would, one module per
//! suite, in one test binary. Each test has its own folder and a clean
//! environment (`cli_util::Env`), so the modules share no state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_util;
mod faketime;

mod cli_age_share;
mod cli_bulk_transfer;
mod cli_busy;
mod cli_clipboard;
mod cli_completion;
mod cli_daily;
mod cli_doctor;
mod cli_edit;
mod cli_entries;
mod cli_env_out;
mod cli_errors;
mod cli_exec;
mod cli_exec_child;
mod cli_export_snapshot;
mod cli_import_legacy;
mod cli_import_value_limits;
mod cli_init;
mod cli_inject;
mod cli_input_limits;
mod cli_kdf_bounds;
mod cli_key_changes;
mod cli_keyring;
mod cli_meta;
mod cli_passphrase;
mod cli_rotate;
mod cli_rough_edges;
mod cli_server;
mod cli_shape;
mod cli_transfer;
mod cli_trust;
mod cli_unlock_cache;
mod clock_behind;
mod clock_mark;
mod clock_mark_reads;
mod exposure;
mod hostile_values;
mod memory_hygiene;
mod names_control;
mod plain_create_new;
mod plain_list_files;
mod storage_media;
mod storage_moved;
