//! The browser's clock and timers as the core's [`Clock`] and [`Sleeper`].

use recagent_core::platform::{Clock, LocalBoxFuture, Sleeper};

/// The browser clock (`Date.now()`, milliseconds since the Unix epoch).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsClock;

impl Clock for JsClock {
    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }
}

/// [`Sleeper`] over the global `setTimeout` (a window or a worker).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsSleeper;

impl Sleeper for JsSleeper {
    fn sleep(&self, ms: u32) -> LocalBoxFuture<'static, ()> {
        let timer = super::idb_util::sleep(ms);
        Box::pin(async move {
            // The promise only resolves (setTimeout never rejects it).
            let _ = timer.await;
        })
    }
}
