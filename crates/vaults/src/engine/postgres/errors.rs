//! The server's errors as the crate's: a broken or refused connection is
//! [`Error::Unavailable`] (retry), a lock wait past the timeout
//! [`Error::Busy`], bad credentials [`Error::AccessDenied`], a full disk
//! [`Error::Full`]. Messages keep the server's one-line text and drop its
//! detail lines, which may quote row contents.

use postgres::error::SqlState;

use crate::Error;

/// The crate's error for a driver error.
pub(crate) fn classify(e: &postgres::Error) -> Error {
    let Some(db) = e.as_db_error() else {
        if let Some(tls) = tls_refusal(e) {
            return Error::AccessDenied { reason: tls };
        }
        // No server answer: the connection failed or broke.
        let reason = match e.is_closed() {
            true => "the connection was closed".to_owned(),
            false => first_line(&e.to_string()),
        };
        return Error::Unavailable { reason };
    };
    let code = db.code();
    let class = &code.code()[..2.min(code.code().len())];
    let message = first_line(db.message());
    match class {
        // connection_exception, operator_intervention (admin shutdown, crash
        // shutdown, cannot connect now), insufficient resources other than
        // disk full (too many connections).
        "08" | "57" if code != &SqlState::QUERY_CANCELED => Error::Unavailable { reason: message },
        "53" if code == &SqlState::DISK_FULL => Error::Full,
        "53" => Error::Unavailable { reason: message },
        "28" => Error::AccessDenied { reason: message },
        _ if code == &SqlState::INSUFFICIENT_PRIVILEGE => Error::AccessDenied { reason: message },
        _ if code == &SqlState::LOCK_NOT_AVAILABLE || code == &SqlState::QUERY_CANCELED => {
            Error::Busy
        }
        _ if code == &SqlState::T_R_SERIALIZATION_FAILURE
            || code == &SqlState::T_R_DEADLOCK_DETECTED =>
        {
            Error::Busy
        }
        _ if code == &SqlState::READ_ONLY_SQL_TRANSACTION => Error::ReadOnly,
        // A column of the wrong type or length: an edited server.
        "22" => Error::Corrupt {
            detail: "a stored column has the wrong type or length",
        },
        _ => Error::Server {
            code: code.code().to_owned(),
            message,
        },
    }
}

/// The reason rustls refused the server (its certificate or name did not
/// check out, no protocol in common): not worth a retry.
fn tls_refusal(e: &postgres::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return Some(format!("TLS: {tls}"));
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(format!("TLS: {tls}"));
        }
        source = s.source();
    }
    None
}

/// Whether the connection that gave `e` is no longer usable.
pub(crate) fn breaks_connection(e: &postgres::Error) -> bool {
    e.is_closed() || matches!(classify(e), Error::Unavailable { .. })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(300).collect()
}
