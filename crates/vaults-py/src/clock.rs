//! `vaults.ManualClock`: a clock a test moves by hand, for expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;

use crate::errors::Class;

/// A clock that stands still until moved: pass it as `clock=` to a vault.
#[pyclass(frozen, module = "vaults._native")]
pub(crate) struct ManualClock(vaults::ManualClock);

impl ManualClock {
    pub(crate) fn inner(&self) -> vaults::ManualClock {
        self.0.clone()
    }
}

fn to_ms(seconds: f64) -> PyResult<i64> {
    if !seconds.is_finite() {
        return Err(Class::InvalidInput.err("a time must be a finite number of seconds"));
    }
    // Saturating float-to-int conversion: far past or future clamps.
    #[allow(clippy::cast_possible_truncation)]
    Ok((seconds * 1000.0).round() as i64)
}

#[pymethods]
impl ManualClock {
    /// Starts at `start` (Unix time in seconds), or now.
    #[new]
    #[pyo3(signature = (start=None))]
    fn new(start: Option<f64>) -> PyResult<Self> {
        let ms = match start {
            Some(s) => to_ms(s)?,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        };
        Ok(ManualClock(vaults::ManualClock::new(ms)))
    }

    /// Moves the clock forward by `seconds` (a number or a `timedelta`; not backward).
    fn advance(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let seconds: f64 = match seconds.hasattr("total_seconds")? {
            true => seconds.call_method0("total_seconds")?.extract()?,
            false => seconds.extract()?,
        };
        if !seconds.is_finite() || seconds < 0.0 {
            return Err(
                Class::InvalidInput.err("advance takes a finite, non-negative number of seconds")
            );
        }
        self.0.advance(Duration::from_secs_f64(seconds));
        Ok(())
    }

    /// Sets the clock to `unix_seconds`.
    fn set(&self, unix_seconds: f64) -> PyResult<()> {
        self.0.set(to_ms(unix_seconds)?);
        Ok(())
    }

    /// The clock's time, in Unix seconds.
    fn now(&self) -> f64 {
        use vaults::Clock;
        #[allow(clippy::cast_precision_loss)]
        let ms = self.0.now_ms() as f64;
        ms / 1000.0
    }
}
