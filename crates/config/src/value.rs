//! Value syntax shared by imapd.conf and the per-channel lookups: switches, durations, C-style
//! integers (`strtol(…, 0)` and `atoi`).
//!
//! Owns only the pure string → value conversions. Must not know option names, files or line
//! numbers; callers wrap failures into their own errors with that context.

/// Unit applied to a trailing bare number in a duration (Cyrus' "default unit").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// `d`
    Days,
    /// `h`
    Hours,
    /// `m`
    Minutes,
    /// `s`
    Seconds,
}

impl Unit {
    /// Seconds in one of this unit.
    pub const fn seconds(self) -> i64 {
        match self {
            Unit::Days => 86_400,
            Unit::Hours => 3_600,
            Unit::Minutes => 60,
            Unit::Seconds => 1,
        }
    }
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// A unit letter came without digits in front of it (`h`, `1hm`).
    #[error("no digit before '{0}'")]
    NoDigit(char),
    /// A character that is not one of `d h m s` followed digits.
    #[error("bad unit '{0}'")]
    BadUnit(char),
    /// The value does not fit Cyrus' 32-bit duration.
    #[error("duration too large")]
    Overflow,
}

/// Parses a Cyrus duration (lib/libconfig.c `config_parseduration`, 3.6.1) into seconds.
///
/// Syntax: optional `-`, then groups `<digits><unit>` with units `d h m s` (lower case only);
/// a trailing bare number takes `default_unit`. Quirks kept from 3.6: a lone `-` is 0, and
/// groups may repeat or come in any order (`1m1h` = 3660). Divergence: 3.6 silently wraps a
/// value beyond 32 bits; we reject it.
pub fn parse_duration(s: &str, default_unit: Unit) -> Result<i64, DurationError> {
    let bytes = s.as_bytes();
    let (neg, body) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut total: i64 = 0;
    let mut accum: i64 = 0;
    let mut saw_digit = false;
    for &b in body {
        if b.is_ascii_digit() {
            accum = accum
                .checked_mul(10)
                .and_then(|a| a.checked_add(i64::from(b - b'0')))
                .ok_or(DurationError::Overflow)?;
            if accum > i64::from(i32::MAX) {
                return Err(DurationError::Overflow);
            }
            saw_digit = true;
            continue;
        }
        if !saw_digit {
            return Err(DurationError::NoDigit(char::from(b)));
        }
        let unit = match b {
            b'd' => Unit::Days,
            b'h' => Unit::Hours,
            b'm' => Unit::Minutes,
            b's' => Unit::Seconds,
            _ => return Err(DurationError::BadUnit(char::from(b))),
        };
        total += accum * unit.seconds();
        accum = 0;
        saw_digit = false;
        if total > i64::from(i32::MAX) {
            return Err(DurationError::Overflow);
        }
    }
    if saw_digit {
        total += accum * default_unit.seconds();
        if total > i64::from(i32::MAX) {
            return Err(DurationError::Overflow);
        }
    }
    Ok(if neg { -total } else { total })
}

/// Parses an imapd.conf switch (lib/libconfig.c `config_parse_switch`): `0`, `n…`, `of…`,
/// `f…` are false; `1`, `y…`, `on…`, `t…` are true; anything else is `None`.
///
/// Divergence, on purpose: 3.6 compares case-sensitively (so `On` is fatal there); we fold
/// case because the Cyrus replication guide writes `sync_compress: On` and admins copy it.
pub fn parse_switch(s: &str) -> Option<bool> {
    let lower = s.to_ascii_lowercase();
    let b = lower.as_bytes();
    match (b.first(), b.get(1)) {
        (Some(b'0' | b'n' | b'f'), _) | (Some(b'o'), Some(b'f')) => Some(false),
        (Some(b'1' | b'y' | b't'), _) | (Some(b'o'), Some(b'n')) => Some(true),
        _ => None,
    }
}

/// C `strtol(s, &end, 0)` requiring the whole string to be consumed, as imapd.conf `INT`
/// options are read: optional leading whitespace and sign, `0x` hex, leading-`0` octal.
/// Values beyond `i64` saturate, as strtol does with a 64-bit long.
pub fn parse_c_long(s: &str) -> Option<i64> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if h.as_bytes().first().is_some_and(u8::is_ascii_hexdigit) {
            (16, h)
        } else {
            // strtol parses the "0" and stops at the 'x': trailing garbage.
            return None;
        }
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mut v: i64 = 0;
    for c in digits.chars() {
        let d = i64::from(c.to_digit(radix).unwrap_or(0));
        v = v.saturating_mul(i64::from(radix)).saturating_add(d);
    }
    Some(if neg { v.saturating_neg() } else { v })
}

/// C `atoi`: leading whitespace, optional sign, then as many decimal digits as there are;
/// anything unparsable is 0. Used for `<channel>_sync_try_imap` (sync_support.c).
pub fn atoi(s: &str) -> i64 {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in t.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let s = Unit::Seconds;
        assert_eq!(parse_duration("1h30m", s), Ok(5400));
        assert_eq!(parse_duration("90", s), Ok(90));
        assert_eq!(parse_duration("3m", s), Ok(180));
        assert_eq!(parse_duration("-5s", s), Ok(-5));
        assert_eq!(parse_duration("1d", s), Ok(86_400));
        assert_eq!(parse_duration("1h30", s), Ok(3630));
        assert_eq!(parse_duration("1h30", Unit::Minutes), Ok(5400));
        assert_eq!(parse_duration("32", Unit::Minutes), Ok(1920));
        assert_eq!(parse_duration("0", s), Ok(0));
        assert_eq!(parse_duration("-", s), Ok(0));
        assert_eq!(parse_duration("1m1h", s), Ok(3660));
        assert_eq!(parse_duration("h", s), Err(DurationError::NoDigit('h')));
        assert_eq!(parse_duration("5x", s), Err(DurationError::BadUnit('x')));
        assert_eq!(parse_duration("5 s", s), Err(DurationError::BadUnit(' ')));
        assert_eq!(parse_duration("5S", s), Err(DurationError::BadUnit('S')));
        assert_eq!(
            parse_duration("99999999999", s),
            Err(DurationError::Overflow)
        );
        assert_eq!(parse_duration("30000d", s), Err(DurationError::Overflow));
    }

    #[test]
    fn switches_every_spelling() {
        for t in [
            "1", "yes", "y", "on", "On", "ON", "t", "true", "True", "TRUE", "tuesday",
        ] {
            assert_eq!(parse_switch(t), Some(true), "{t}");
        }
        for f in [
            "0", "no", "n", "off", "Off", "OFF", "of", "f", "false", "False", "nope",
        ] {
            assert_eq!(parse_switch(f), Some(false), "{f}");
        }
        for bad in ["2", "o", "maybe", "", "-1", "enable"] {
            assert_eq!(parse_switch(bad), None, "{bad}");
        }
    }

    #[test]
    fn c_integers() {
        assert_eq!(parse_c_long("8192"), Some(8192));
        assert_eq!(parse_c_long("-1"), Some(-1));
        assert_eq!(parse_c_long("0x10"), Some(16));
        assert_eq!(parse_c_long("010"), Some(8));
        assert_eq!(parse_c_long("0"), Some(0));
        assert_eq!(parse_c_long("09"), None);
        assert_eq!(parse_c_long("12k"), None);
        assert_eq!(parse_c_long("0x"), None);
        assert_eq!(parse_c_long("-"), None);
        assert_eq!(atoi("1"), 1);
        assert_eq!(atoi("yes"), 0);
        assert_eq!(atoi(" 12abc"), 12);
        assert_eq!(atoi("-1"), -1);
    }
}
