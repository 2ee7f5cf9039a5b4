//! Retry timing and the circuit breaker of the LLM client: jittered
//! exponential backoff, `Retry-After` (seconds or an HTTP date), and a
//! breaker that stops sending after repeated failed requests.

use crate::platform::Rng;

/// First backoff before jitter, in milliseconds.
const BACKOFF_BASE_MS: f64 = 500.0;
/// Longest backoff, in milliseconds.
const BACKOFF_CAP_MS: f64 = 8_000.0;

/// Whether an HTTP status is worth retrying: 408, 409, 429 and 5xx.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || (500..=599).contains(&status)
}

/// The wait before retry number `retry` (0 for the first retry):
/// 500 ms × 2^retry, ±50 % jitter, at most 8 s.
pub(crate) fn backoff_ms(retry: u32, rng: &mut dyn Rng) -> u32 {
    let base = BACKOFF_BASE_MS * 2f64.powi(retry.min(16) as i32);
    let jittered = base * (0.5 + rng.next_f64());
    jittered.clamp(0.0, BACKOFF_CAP_MS) as u32
}

/// Milliseconds a `Retry-After` value asks to wait, from `now_ms`: a number
/// of seconds (fractions accepted) or an IMF-fixdate HTTP date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`); a date in the past is 0. `None` if
/// the value is neither.
pub(crate) fn retry_after_ms(value: &str, now_ms: f64) -> Option<f64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then_some(seconds * 1000.0);
    }
    let at = http_date_ms(value)?;
    Some((at - now_ms).max(0.0))
}

/// Milliseconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date_ms(value: &str) -> Option<f64> {
    let (_, rest) = value.split_once(',')?;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if *zone != "GMT" && *zone != "UTC" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as i64 + 1;
    let day: i64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: i64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if !(0..24).contains(h) || !(0..60).contains(m) || !(0..=60).contains(s) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 86_400 + h * 3600 + m * 60 + s) * 1000) as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The state of a [`Breaker`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BreakerState {
    /// Requests go through; `failures` consecutive requests have failed.
    Closed { failures: u32 },
    /// Nothing is sent until `until_ms`.
    Open { until_ms: f64 },
    /// The cooldown is over: one trial request is (or may be) in flight.
    HalfOpen { trial_in_flight: bool },
}

/// A circuit breaker: `threshold` consecutive failed requests open it for
/// `cooldown_ms`; then one trial request is let through (half-open): its
/// success closes the breaker, its failure opens it again.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown_ms: f64,
    state: BreakerState,
}

impl Breaker {
    /// A closed breaker (`threshold` 0 is treated as 1).
    pub(crate) fn new(threshold: u32, cooldown_ms: u32) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown_ms: f64::from(cooldown_ms),
            state: BreakerState::Closed { failures: 0 },
        }
    }

    /// The current state (an open breaker whose cooldown is over reads as half-open).
    pub(crate) fn state(&self, now_ms: f64) -> BreakerState {
        match self.state {
            BreakerState::Open { until_ms } if now_ms >= until_ms => BreakerState::HalfOpen {
                trial_in_flight: false,
            },
            state => state,
        }
    }

    /// Whether a request may be sent now; `Err(ms)` = how long until it may
    /// (0 when a half-open trial is in flight).
    pub(crate) fn admit(&mut self, now_ms: f64) -> Result<(), f64> {
        match self.state(now_ms) {
            BreakerState::Closed { .. } => Ok(()),
            BreakerState::Open { until_ms } => Err(until_ms - now_ms),
            BreakerState::HalfOpen {
                trial_in_flight: true,
            } => Err(0.0),
            BreakerState::HalfOpen {
                trial_in_flight: false,
            } => {
                self.state = BreakerState::HalfOpen {
                    trial_in_flight: true,
                };
                Ok(())
            }
        }
    }

    /// An admitted request succeeded.
    pub(crate) fn success(&mut self) {
        self.state = BreakerState::Closed { failures: 0 };
    }

    /// An admitted request failed (after its retries).
    pub(crate) fn failure(&mut self, now_ms: f64) {
        self.state = match self.state {
            BreakerState::Closed { failures } if failures + 1 < self.threshold => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            _ => BreakerState::Open {
                until_ms: now_ms + self.cooldown_ms,
            },
        };
    }

    /// An admitted request ended without a verdict on the endpoint (the app
    /// aborted it, the deadline passed before sending): a half-open trial
    /// slot is given back; a closed breaker is unchanged.
    pub(crate) fn release(&mut self) {
        if let BreakerState::HalfOpen {
            trial_in_flight: true,
        } = self.state
        {
            self.state = BreakerState::HalfOpen {
                trial_in_flight: false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::SeededRng;

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_a_cap() {
        let mut rng = SeededRng::new(1);
        for _ in 0..200 {
            let first = backoff_ms(0, &mut rng);
            assert!((250..750).contains(&first), "{first}");
            let third = backoff_ms(2, &mut rng);
            assert!((1000..3000).contains(&third), "{third}");
            assert!(backoff_ms(10, &mut rng) <= 8000);
        }
        let spread: std::collections::BTreeSet<u32> =
            (0..50).map(|_| backoff_ms(0, &mut rng)).collect();
        assert!(spread.len() > 10, "jitter must vary");
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(retry_after_ms("2", 0.0), Some(2000.0));
        assert_eq!(retry_after_ms(" 0.5 ", 0.0), Some(500.0));
        assert_eq!(retry_after_ms("-1", 0.0), None);
        assert_eq!(retry_after_ms("soon", 0.0), None);
        // 1994-11-06T08:49:37Z = 784111777 s.
        let at = 784_111_777_000.0;
        assert_eq!(
            retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", at - 3000.0),
            Some(3000.0)
        );
        assert_eq!(
            retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", at + 1.0),
            Some(0.0)
        );
        assert_eq!(http_date_ms("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0.0));
        assert_eq!(
            http_date_ms("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400_000.0)
        );
        assert_eq!(http_date_ms("Sun, 06 Foo 1994 08:49:37 GMT"), None);
    }

    #[test]
    fn breaker_opens_half_opens_and_closes() {
        let mut b = Breaker::new(2, 1000);
        assert!(b.admit(0.0).is_ok());
        b.failure(0.0);
        assert!(b.admit(1.0).is_ok());
        b.failure(10.0);
        assert_eq!(b.admit(500.0), Err(510.0));
        assert!(b.admit(1010.0).is_ok(), "half-open trial");
        assert_eq!(b.admit(1011.0), Err(0.0), "one trial at a time");
        b.failure(1020.0);
        assert!(b.admit(1500.0).is_err(), "a failed trial opens it again");
        assert!(b.admit(2020.0).is_ok());
        b.release();
        assert!(
            b.admit(2021.0).is_ok(),
            "a released trial slot is free again"
        );
        b.success();
        assert_eq!(b.state(2022.0), BreakerState::Closed { failures: 0 });
    }
}
