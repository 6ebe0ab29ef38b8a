//! Wall-clock time for EVENTS scheduling (spec §8.7), behind a trait so tests can drive
//! `period=` and `at=HHMM` without waiting.
//!
//! Owns: the clock seam and local-time arithmetic for `at=`. Must not: schedule or run
//! anything. Restart back-off and child ages use `std::time::Instant` (real time), never this
//! clock: they are about how real processes behave.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += d;
    }

    /// Sets the clock to `t`.
    pub fn set(&self, t: SystemTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn to_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn from_secs(s: i64) -> SystemTime {
    if s >= 0 {
        UNIX_EPOCH + Duration::from_secs(s.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(s.unsigned_abs())
    }
}

/// Local broken-down time of `t` (libc `localtime_r`).
fn local_tm(secs: i64) -> Option<libc::tm> {
    let t: libc::time_t = secs;
    // SAFETY: an all-zero `tm` is a valid value (integers and a nullable pointer).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call; localtime_r is
    // reentrant and writes only into `tm`.
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    (!r.is_null()).then_some(tm)
}

/// `mktime` of `tm` (normalising out-of-range fields such as day 32).
fn mktime(mut tm: libc::tm) -> Option<i64> {
    tm.tm_isdst = -1;
    // SAFETY: `tm` is a valid, exclusively borrowed struct; mktime reads and normalises it.
    let t = unsafe { libc::mktime(&mut tm) };
    (t != -1).then_some(t)
}

/// The first local time `hour:minute:00` that is not before `after` (today if it has not
/// passed, else tomorrow). Computed with `mktime` for the given calendar day, so a
/// daylight-saving change keeps the event at the configured wall-clock time.
pub fn next_at(after: SystemTime, hour: u8, minute: u8) -> SystemTime {
    let now = to_secs(after);
    let Some(mut tm) = local_tm(now) else {
        return after + Duration::from_secs(24 * 3600);
    };
    tm.tm_hour = i32::from(hour);
    tm.tm_min = i32::from(minute);
    tm.tm_sec = 0;
    for _ in 0..3 {
        match mktime(tm) {
            Some(t) if t >= now => return from_secs(t),
            _ => tm.tm_mday += 1,
        }
    }
    after + Duration::from_secs(24 * 3600)
}

/// The time of `hour:minute:second` local time on the calendar day of `day` (tests and
/// callers building times in local terms).
pub fn local_time_on(day: SystemTime, hour: u8, minute: u8, second: u8) -> Option<SystemTime> {
    let mut tm = local_tm(to_secs(day))?;
    tm.tm_hour = i32::from(hour);
    tm.tm_min = i32::from(minute);
    tm.tm_sec = i32::from(second);
    mktime(tm).map(from_secs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn at_today_or_tomorrow() {
        let base = SystemTime::now();
        let before = local_time_on(base, 3, 59, 30).unwrap();
        let four = local_time_on(base, 4, 0, 0).unwrap();
        assert_eq!(next_at(before, 4, 0), four);
        assert_eq!(next_at(four, 4, 0), four);
        let after = next_at(four + Duration::from_secs(1), 4, 0);
        let d = after.duration_since(four).unwrap().as_secs();
        // 24 h, or 23/25 h across a daylight-saving change.
        assert!((23 * 3600..=25 * 3600).contains(&d), "{d}");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(UNIX_EPOCH);
        assert_eq!(c.now(), UNIX_EPOCH);
        c.advance(Duration::from_secs(61));
        assert_eq!(c.now(), UNIX_EPOCH + Duration::from_secs(61));
    }
}
