//! `ttl`, `expire`, `persist`, `cleanup`: when entries expire.

use std::time::Duration;

use serde_json::json;
use vaults::{ExpireIf, Store, Ttl};

use crate::cli::ExpireCondition;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::open::{self, Locked};
use crate::output::say;

pub fn ttl<S: Store>(ctx: &Context, s: &S, key: &str) -> Result<()> {
    match s.ttl(key)?.ok_or_else(|| Error::no_entry(key))? {
        Ttl::Never => say(ctx, "never", json!({"name": key, "ttl_seconds": null})),
        Ttl::Remaining(d) => {
            // Round up: an entry that is still alive never shows 0.
            let secs = d.as_millis().div_ceil(1000);
            say(
                ctx,
                &secs.to_string(),
                json!({"name": key, "ttl_seconds": secs}),
            )
        }
    }
}

pub fn expire<S: Store>(
    ctx: &Context,
    s: &S,
    key: &str,
    d: Duration,
    c: &ExpireCondition,
) -> Result<()> {
    let cond = match (c.nx, c.xx, c.gt, c.lt) {
        (true, ..) => ExpireIf::NoExpiry,
        (_, true, ..) => ExpireIf::HasExpiry,
        (_, _, true, _) => ExpireIf::Later,
        (.., true) => ExpireIf::Sooner,
        _ => ExpireIf::Always,
    };
    if !s.contains(key)? {
        return Err(Error::no_entry(key));
    }
    let changed = s.expire(key, d, cond)?;
    let text = match (changed, d.is_zero()) {
        (true, true) => "deleted",
        (true, false) => "expiry set",
        (false, _) => "expiry unchanged: the condition does not hold",
    };
    say(ctx, text, json!({"name": key, "changed": changed}))
}

pub fn persist<S: Store>(ctx: &Context, s: &S, key: &str) -> Result<()> {
    if !s.contains(key)? {
        return Err(Error::no_entry(key));
    }
    let changed = s.persist(key)?;
    let text = if changed {
        "expiry removed"
    } else {
        "it had no expiry"
    };
    say(ctx, text, json!({"name": key, "changed": changed}))
}

pub fn cleanup(ctx: &Context) -> Result<()> {
    let n = match open::open_locked(ctx)? {
        Locked::Plain(v) => v.cleanup_expired()?,
        Locked::Encrypted(v) => v.cleanup_expired()?,
    };
    say(
        ctx,
        &format!(
            "deleted {n} expired {}",
            if n == 1 { "entry" } else { "entries" }
        ),
        json!({"deleted": n}),
    )
}
