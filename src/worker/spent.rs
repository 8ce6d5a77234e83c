//! Time a request spends waiting for one remote service, for its log line (`coordinator_ms`,
//! `facilitator_ms`, `kv_ms`, `origin_ms`): where a paid request's latency goes beyond the
//! gateway's own.

use std::cell::Cell;
use std::future::Future;

use worker::Date;

/// Milliseconds spent in the calls timed, and whether any was made.
#[derive(Default)]
pub struct Spent {
    ms: Cell<u64>,
    called: Cell<bool>,
}

impl Spent {
    /// Awaits `call`, adding the time it took.
    pub async fn time<T>(&self, call: impl Future<Output = T>) -> T {
        let started = Date::now().as_millis();
        let answer = call.await;
        let spent = Date::now().as_millis().saturating_sub(started);
        self.ms.set(self.ms.get().saturating_add(spent));
        self.called.set(true);
        answer
    }

    /// The milliseconds spent, `None` if nothing was called.
    pub fn ms(&self) -> Option<u64> {
        Some(self.ms.get()).filter(|_| self.called.get())
    }
}
