//! Dates: IMAP `date` and `date-time` (RFC 3501 §9; INTERNALDATE, APPEND, SEARCH BEFORE/ON/
//! SINCE) parsed as Cyrus's `time_from_rfc3501` (legacy 2-digit-year and zone-name forms
//! included) and written as `time_to_rfc3501` (`%2d-Mon-yyyy HH:MM:SS +zzzz`, day padded
//! with a space); and the RFC 5322 `Date:` header parsed as Cyrus's `time_from_rfc5322`
//! (lenient tokeniser; SENT* searches use the calendar day as written, ignoring the zone).
//!
//! Owns: calendar arithmetic (proleptic Gregorian, days since the Unix epoch).
//! Must not: read the clock or the local time zone: callers pass offsets in.

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar day. Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    /// 1..=12
    pub month: u8,
    /// 1..=31
    pub day: u8,
}

impl Date {
    /// Days since 1970-01-01 (negative before). Out-of-range days roll over like mktime.
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(i64::from(self.year), i64::from(self.month), 1) + i64::from(self.day) - 1
    }

    /// The day containing `unix` seconds at UTC offset `offset_minutes`.
    pub fn from_unix(unix: i64, offset_minutes: i32) -> Date {
        let local = unix + i64::from(offset_minutes) * 60;
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        Date {
            year: y as i32,
            month: m as u8,
            day: d as u8,
        }
    }

    /// `d-Mon-yyyy` (RFC 3501 `date-text`, as Cyrus writes dates in responses).
    pub fn to_imap(self) -> String {
        let m = MONTHS
            .get(usize::from(self.month.saturating_sub(1)))
            .unwrap_or(&"Jan");
        format!("{}-{}-{:04}", self.day, m, self.year)
    }
}

/// A point in time with the UTC offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Minutes east of UTC.
    pub offset_minutes: i32,
}

impl DateTime {
    /// Seconds since the Unix epoch (UTC).
    pub fn unix(&self) -> i64 {
        self.date.days_since_epoch() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.offset_minutes) * 60
    }
}

// Howard Hinnant's civil-from-days algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i32) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn month_days(y: i32, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn month_index(s: &[u8]) -> Option<u8> {
    MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(s))
        .map(|i| i as u8 + 1)
}

/// Format INTERNALDATE: `%2d-Mon-yyyy HH:MM:SS +zzzz` for `unix` at `offset_minutes`
/// (Cyrus writes the server's local offset).
pub fn format_date_time(unix: i64, offset_minutes: i32) -> String {
    let local = unix + i64::from(offset_minutes) * 60;
    let secs = local.rem_euclid(86_400);
    let d = Date::from_unix(unix, offset_minutes);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{:2}-{}-{} {:02}:{:02}:{:02} {}{:02}{:02}",
        d.day,
        MONTHS[usize::from(d.month - 1)],
        d.year,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        sign,
        off / 60,
        off % 60
    )
}

struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn c(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn bump(&mut self) -> Option<u8> {
        let c = self.c();
        self.i += 1;
        c
    }
    fn digit(&mut self) -> Option<u8> {
        match self.bump() {
            Some(c) if c.is_ascii_digit() => Some(c - b'0'),
            _ => None,
        }
    }
}

/// Parse the APPEND `date-time` (without the quotes) as Cyrus 3.6.1 does: at most 26
/// bytes, read with its lenient RFC 5322 date parser (`getdatetime` calls
/// `time_from_rfc5322`), so besides `dd-Mon-yyyy HH:MM:SS +zzzz` it takes a missing zone
/// (UTC), zone names, 2-digit years and rolls over impossible days (`29-Feb-1993` is
/// 1 March); dates before 1970 are refused. Checked against a real 3.6.1.
pub fn parse_date_time(s: &[u8]) -> Option<DateTime> {
    if s.len() > 26 {
        return None;
    }
    let dt = parse_rfc5322_date(s, false)?;
    (dt.unix() >= 0).then_some(dt)
}

/// Parse a `date-time` with the strict RFC 3501 grammar plus the legacy forms of Cyrus's
/// `time_from_rfc3501` (`dd-Mon-yy HH:MM:SS ZONE`). Not what APPEND uses in 3.6.1 (see
/// [`parse_date_time`]).
pub fn parse_date_time_rfc3501(s: &[u8]) -> Option<DateTime> {
    let mut c = Cur { s, i: 0 };
    let (date, old_format) = parse_date_part(&mut c, true)?;
    if c.bump()? != b' ' {
        return None;
    }
    let hour = c.digit()? * 10 + c.digit()?;
    if hour > 23 || c.bump()? != b':' {
        return None;
    }
    let minute = c.digit()? * 10 + c.digit()?;
    if minute > 59 || c.bump()? != b':' {
        return None;
    }
    let second = c.digit()? * 10 + c.digit()?;
    if second > 60 || c.bump()? != b' ' {
        return None;
    }
    let offset_minutes = if old_format {
        let zone = &s[c.i..];
        if zone.is_empty() || zone.len() > 3 || !zone.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let z = zone.to_ascii_lowercase();
        match z.len() {
            1 => match z[0] {
                b'a'..=b'i' => (i32::from(z[0] - b'a') + 1) * 60,
                b'j' => return None,
                b'k'..=b'm' => (i32::from(z[0] - b'k') + 10) * 60,
                b'n'..=b'y' => (i32::from(b'm') - i32::from(z[0])) * 60,
                _ => 0,
            },
            // Cyrus's test is inverted: only a two-letter zone other than "ut" passes (as UTC).
            2 if z != b"ut" => 0,
            2 => return None,
            _ => {
                let p = b"aecmpyhb".iter().position(|&x| x == z[0])?;
                if z[2] != b't' {
                    return None;
                }
                let base = (8 - p as i32 - 12) * 60;
                match z[1] {
                    b'd' => base + 60,
                    b's' => base,
                    _ => return None,
                }
            }
        }
    } else {
        let sign = c.bump()?;
        if sign != b'+' && sign != b'-' {
            return None;
        }
        let h = i32::from(c.digit()?) * 10 + i32::from(c.digit()?);
        let m = i32::from(c.digit()?) * 10 + i32::from(c.digit()?);
        if c.c().is_some() {
            return None;
        }
        let off = h * 60 + m;
        if sign == b'-' { -off } else { off }
    };
    Some(DateTime {
        date,
        hour,
        minute,
        second,
        offset_minutes,
    })
}

/// Day, month and year of `d-Mon-yyyy`; `allow_old` also accepts 2-digit years (19yy).
fn parse_date_part(c: &mut Cur<'_>, allow_old: bool) -> Option<(Date, bool)> {
    let first = c.bump()?;
    let mut day = match first {
        b' ' => 0,
        b'0'..=b'9' => first - b'0',
        _ => return None,
    };
    let mut ch = c.bump()?;
    if ch.is_ascii_digit() {
        day = day * 10 + (ch - b'0');
        ch = c.bump()?;
    }
    if day == 0 || day > 31 || ch != b'-' {
        return None;
    }
    let m0 = c.i;
    for _ in 0..3 {
        if !c.bump()?.is_ascii_alphabetic() {
            return None;
        }
    }
    let month = month_index(&c.s[m0..m0 + 3])?;
    if c.bump()? != b'-' {
        return None;
    }
    let mut year = i32::from(c.digit()?) * 10 + i32::from(c.digit()?);
    let mut old = true;
    if c.c().is_some_and(|x| x.is_ascii_digit()) {
        year = year * 100 + i32::from(c.digit()?) * 10 + i32::from(c.digit()?);
        if year < 1900 {
            return None;
        }
        old = false;
    } else {
        if !allow_old {
            return None;
        }
        year += 1900;
    }
    if day > month_days(year, month) {
        return None;
    }
    Some((Date { year, month, day }, old))
}

/// Parse an IMAP `date` (SEARCH BEFORE/ON/SINCE/SENT*, without quotes) as Cyrus's
/// `get_search_date`: 1 or 2 digit day (not range-checked: days roll over as mktime does, so
/// `31-Feb-1994` is 3 March and `0-Mar-1994` is 28 February), month name in any case, 4-digit
/// year from 1900 or 2-digit year (19yy).
pub fn parse_date(s: &[u8]) -> Option<Date> {
    let mut c = Cur { s, i: 0 };
    let mut day = i64::from(c.digit()?);
    if c.c().is_some_and(|x| x.is_ascii_digit()) {
        day = day * 10 + i64::from(c.digit()?);
    }
    if c.bump()? != b'-' {
        return None;
    }
    let m0 = c.i;
    for _ in 0..3 {
        if !c.bump()?.is_ascii_alphabetic() {
            return None;
        }
    }
    let month = month_index(&s[m0..m0 + 3])?;
    if c.bump()? != b'-' {
        return None;
    }
    let mut year = i32::from(c.digit()?) * 10 + i32::from(c.digit()?);
    if c.c().is_some_and(|x| x.is_ascii_digit()) {
        if year < 19 {
            return None;
        }
        year = year * 100 + i32::from(c.digit()?) * 10 + i32::from(c.digit()?);
    } else {
        year += 1900;
    }
    if c.c().is_some() {
        return None;
    }
    let first = Date {
        year,
        month,
        day: 1,
    }
    .days_since_epoch();
    Some(Date::from_unix((first + day - 1) * 86_400, 0))
}

fn is_special(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_separator(c: u8) -> bool {
    matches!(c, b' ' | b',' | b'-' | b'+' | b':')
}

/// Cyrus's RFC 5322 date tokeniser state.
struct Tok<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Tok<'a> {
    fn cur(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn next_char(&mut self) -> Option<u8> {
        if self.i < self.s.len() {
            self.i += 1;
        }
        self.cur()
    }
    fn skip_ws(&mut self) {
        while self.cur().is_some_and(is_special) {
            self.next_char();
        }
    }
    /// get_next_token: an alphanumeric run (empty at the end of the string).
    fn token(&mut self) -> &'a [u8] {
        let start = self.i;
        while let Some(c) = self.cur() {
            if is_special(c) || is_separator(c) || !c.is_ascii_alphanumeric() {
                break;
            }
            self.next_char();
        }
        &self.s[start..self.i]
    }
}

fn to_int(t: &[u8]) -> Option<i32> {
    if t.is_empty() || t.len() > 9 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(t).ok()?.parse().ok()
}

fn tz_offset(t: &[u8], sign: u8) -> i32 {
    let up: Vec<u8> = t.to_ascii_uppercase();
    match up.len() {
        1 => {
            let ch = up[0];
            let raw = i32::from(t[0]);
            if ch < b'J' {
                (raw - i32::from(b'A') + 1) * 60
            } else if ch == b'J' {
                0
            } else if ch <= b'M' {
                (raw - i32::from(b'A')) * 60
            } else if ch < b'Z' {
                (i32::from(b'M') - raw) * 60
            } else {
                0
            }
        }
        2 if up == b"UT" => 0,
        3 => {
            if up[2] != b'T' {
                return 0;
            }
            let Some(p) = b"AECMPYHB".iter().position(|&x| x == up[0]) else {
                return 0;
            };
            let base = (8 - p as i32 - 12) * 60;
            match up[1] {
                b'D' => base + 60,
                b'S' => base,
                _ => 0,
            }
        }
        4 if t.iter().all(u8::is_ascii_digit) => {
            let d = |i: usize| i32::from(t[i] - b'0');
            let off = (d(0) * 10 + d(1)) * 60 + d(2) * 10 + d(3);
            if sign == b'+' { off } else { -off }
        }
        _ => 0,
    }
}

/// Parse a `Date:` header value as Cyrus's `time_from_rfc5322`. With `date_only`, only
/// `[day-name ","] day month year` is read and the result has time 00:00:00 and offset 0
/// (what Cyrus stores for SENTBEFORE/SENTON/SENTSINCE). Two-digit years: < 70 → 20yy,
/// else 19yy. Without a time the full parse fails (Cyrus then sorts by INTERNALDATE); a
/// missing or unknown zone counts as +0000 (`GMT` included: Cyrus knows only `UT`, military
/// letters and the North American names).
pub fn parse_rfc5322_date(value: &[u8], date_only: bool) -> Option<DateTime> {
    let mut b = Tok { s: value, i: 0 };
    b.skip_ws();
    let c = b.cur()?;
    if c.is_ascii_alphabetic() {
        let t = b.token();
        if t.len() != 3 || b.cur() != Some(b',') {
            return None;
        }
        b.next_char();
        b.skip_ws();
    }
    let t = b.token();
    if t.is_empty() || t.len() > 2 || !t[0].is_ascii_digit() {
        return None;
    }
    let day = to_int(t)?;
    if b.next_char().is_some_and(is_special) {
        b.skip_ws();
    }
    let t = b.token();
    if t.len() != 3 || !t[0].is_ascii_alphabetic() {
        return None;
    }
    let month = month_index(t)?;
    if b.next_char().is_some_and(is_special) {
        b.skip_ws();
    }
    let t = b.token();
    let mut year = to_int(t)?;
    if t.len() == 2 {
        year += if year < 70 { 2000 } else { 1900 };
    } else if year < 1900 {
        return None;
    }
    let date = Date {
        year,
        month,
        day: 1,
    };
    // Roll over out-of-range days as mktime does.
    let days = date.days_since_epoch() + i64::from(day) - 1;
    let date = Date::from_unix(days * 86_400, 0);
    if date_only {
        return Some(DateTime {
            date,
            hour: 0,
            minute: 0,
            second: 0,
            offset_minutes: 0,
        });
    }
    b.skip_ws();
    let t = b.token();
    if t.is_empty() || t.len() > 2 || !t[0].is_ascii_digit() {
        return None;
    }
    let hour = to_int(t)?;
    if !matches!(b.cur(), Some(b':' | b'.')) {
        return None;
    }
    b.next_char();
    let t = b.token();
    if t.is_empty() || t.len() > 2 || !t[0].is_ascii_digit() {
        return None;
    }
    let minute = to_int(t)?;
    let mut second = 0;
    if matches!(b.cur(), Some(b':' | b'.')) {
        b.next_char();
        let t = b.token();
        if t.is_empty() || t.len() > 2 || !t[0].is_ascii_digit() {
            return None;
        }
        second = to_int(t)?;
    }
    b.skip_ws();
    let sign = b.cur().unwrap_or(0);
    if sign == b'+' || sign == b'-' {
        b.next_char();
    }
    let t = b.token();
    let offset_minutes = if t.is_empty() { 0 } else { tz_offset(t, sign) };
    // hours/minutes/seconds out of range roll over like mkgmtime
    let base = DateTime {
        date,
        hour: 0,
        minute: 0,
        second: 0,
        offset_minutes: 0,
    }
    .unix()
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    let local = base;
    let date = Date::from_unix(local, 0);
    let secs = local.rem_euclid(86_400);
    Some(DateTime {
        date,
        hour: (secs / 3600) as u8,
        minute: (secs / 60 % 60) as u8,
        second: (secs % 60) as u8,
        offset_minutes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_date_time() {
        // as Cyrus 3.6.1 APPEND accepted them (INTERNALDATE it then reported, TZ=UTC)
        let cases: &[(&[u8], &str)] = &[
            (b"7-Feb-1994 21:52:25 -0800", " 8-Feb-1994 05:52:25 +0000"),
            (b" 7-Feb-1994 21:52:25 +0000", " 7-Feb-1994 21:52:25 +0000"),
            (b"07-Feb-94 21:52:25 PST", " 8-Feb-1994 05:52:25 +0000"),
            (b"7-Feb-94 21:52:25 UT", " 7-Feb-1994 21:52:25 +0000"),
            (b"7-Feb-94 21:52:25 GT", " 7-Feb-1994 21:52:25 +0000"),
            (b"29-Feb-1993 00:00:00 +0000", " 1-Mar-1993 00:00:00 +0000"),
            (b"7-Feb-1994 21:52:25", " 7-Feb-1994 21:52:25 +0000"),
        ];
        for (input, want) in cases {
            let dt = parse_date_time(input).unwrap();
            assert_eq!(format_date_time(dt.unix(), 0), *want);
        }
        assert!(parse_date_time(b"1-Jan-1969 00:00:00 +0000").is_none());
        assert!(parse_date_time(b"garbage").is_none());
    }

    #[test]
    fn imap_date_time() {
        let dt = parse_date_time_rfc3501(b"17-Jul-1996 02:44:25 -0700").unwrap();
        assert_eq!(dt.unix(), 837_596_665);
        assert_eq!(
            format_date_time(dt.unix(), -420),
            "17-Jul-1996 02:44:25 -0700"
        );
        assert_eq!(format_date_time(0, 0), " 1-Jan-1970 00:00:00 +0000");
        let dt = parse_date_time_rfc3501(b" 7-Feb-1994 21:52:25 +0100").unwrap();
        assert_eq!(
            dt.date,
            Date {
                year: 1994,
                month: 2,
                day: 7
            }
        );
        assert!(parse_date_time_rfc3501(b"30-Feb-1994 21:52:25 +0100").is_none());
        assert!(parse_date_time_rfc3501(b"7-Feb-1994 21:52:25").is_none());
        assert!(parse_date_time_rfc3501(b"7-Feb-1994 24:00:00 +0000").is_none());
        let dt = parse_date_time_rfc3501(b"7-Feb-94 21:52:25 PST").unwrap();
        assert_eq!(dt.offset_minutes, -480);
        assert_eq!(dt.date.year, 1994);
    }

    #[test]
    fn imap_date() {
        assert_eq!(
            parse_date(b"1-Feb-1994"),
            Some(Date {
                year: 1994,
                month: 2,
                day: 1
            })
        );
        assert_eq!(
            parse_date(b"01-feb-1994"),
            Some(Date {
                year: 1994,
                month: 2,
                day: 1
            })
        );
        assert_eq!(
            parse_date(b"1-Feb-94"),
            Some(Date {
                year: 1994,
                month: 2,
                day: 1
            })
        );
        assert_eq!(
            parse_date(b"31-Feb-1994"),
            Some(Date {
                year: 1994,
                month: 3,
                day: 3
            })
        );
        assert_eq!(
            parse_date(b"0-Mar-1994"),
            Some(Date {
                year: 1994,
                month: 2,
                day: 28
            })
        );
        assert!(parse_date(b"1-Feb-1994x").is_none());
        assert!(parse_date(b" 1-Feb-1994").is_none());
        assert!(parse_date(b"1-Feb-1894").is_none());
        assert_eq!(
            Date {
                year: 1994,
                month: 2,
                day: 1
            }
            .to_imap(),
            "1-Feb-1994"
        );
    }

    #[test]
    fn rfc5322() {
        let d = parse_rfc5322_date(b"Mon, 7 Feb 1994 21:52:25 -0800 (PST)", false).unwrap();
        assert_eq!(d.offset_minutes, -480);
        assert_eq!(d.unix(), 760_686_745);
        let d = parse_rfc5322_date(b"7 Feb 1994 21:52:25 -0800", true).unwrap();
        assert_eq!(
            d.date,
            Date {
                year: 1994,
                month: 2,
                day: 7
            }
        );
        let d = parse_rfc5322_date(b"Fri, 4-Mar-22 13:14 +0100", true).unwrap();
        assert_eq!(
            d.date,
            Date {
                year: 2022,
                month: 3,
                day: 4
            }
        );
        // checked against Cyrus 3.6.1 SEARCH SENTON and SORT (DATE)
        assert!(parse_rfc5322_date(b"Mon, 7 Feb 1994", true).is_some());
        assert!(parse_rfc5322_date(b"Mon, 7 Feb 1994", false).is_none());
        assert!(parse_rfc5322_date(b"7 Feb 94", true).is_some());
        assert!(parse_rfc5322_date(b"Mon 7 Feb 1994 10:00:00 +0000", true).is_none());
        let d = parse_rfc5322_date(b"31 Feb 1994 10:00:00 +0000", true).unwrap();
        assert_eq!(
            d.date,
            Date {
                year: 1994,
                month: 3,
                day: 3
            }
        );
        let d = parse_rfc5322_date(b"  07 FEB 1994 10:00:00 +0000", true).unwrap();
        assert_eq!(
            d.date,
            Date {
                year: 1994,
                month: 2,
                day: 7
            }
        );
        let d = parse_rfc5322_date(b"7 Feb 1994 10:00 GMT", false).unwrap();
        assert_eq!(d.offset_minutes, 0);
        let d = parse_rfc5322_date(b"7 Feb 1994 23:30:00 -1100", false).unwrap();
        assert_eq!(d.unix(), 760_703_400); // 8 Feb 1994 10:30 UTC
        assert!(parse_rfc5322_date(b"garbage", false).is_none());
        assert!(parse_rfc5322_date(b"", false).is_none());
    }
}
