//! Sequence sets (RFC 3501 §9 `sequence-set`): `1:4,7,9:*`, for message sequence numbers and
//! UIDs alike.
//!
//! Owns: parsing, membership given the current largest value for `*`, expansion against a
//! sorted list, and compact formatting. Must not: know mailboxes.

use std::fmt;

/// One end of a range: a number or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNum {
    Value(u32),
    Star,
}

impl SeqNum {
    fn resolve(self, star: u32) -> u32 {
        match self {
            SeqNum::Value(v) => v,
            SeqNum::Star => star,
        }
    }
}

/// A non-empty list of ranges. `$` (RFC 5182 saved result) is not supported.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SequenceSet(pub Vec<(SeqNum, SeqNum)>);

/// A malformed sequence set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid sequence in {0}")]
pub struct SeqSetError(pub &'static str);

fn num(s: &str) -> Result<SeqNum, SeqSetError> {
    if s == "*" {
        return Ok(SeqNum::Star);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') {
        return Err(SeqSetError("sequence"));
    }
    s.parse::<u32>()
        .map(SeqNum::Value)
        .map_err(|_| SeqSetError("sequence"))
}

impl SequenceSet {
    /// Parse `1:4,7,9:*`. Zero is not a valid number.
    pub fn parse(s: &str) -> Result<SequenceSet, SeqSetError> {
        let mut v = Vec::new();
        for part in s.split(',') {
            let (a, b) = match part.split_once(':') {
                Some((a, b)) => (num(a)?, num(b)?),
                None => {
                    let n = num(part)?;
                    (n, n)
                }
            };
            v.push((a, b));
        }
        Ok(SequenceSet(v))
    }

    /// A set holding exactly these values (compacted into ranges).
    pub fn from_values(values: &[u32]) -> Option<SequenceSet> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut v: Vec<(SeqNum, SeqNum)> = Vec::new();
        for x in sorted {
            if let Some((_, SeqNum::Value(hi))) = v.last_mut()
                && hi.checked_add(1) == Some(x)
            {
                *hi = x;
                continue;
            }
            v.push((SeqNum::Value(x), SeqNum::Value(x)));
        }
        if v.is_empty() {
            None
        } else {
            Some(SequenceSet(v))
        }
    }

    /// Whether `n` is in the set, `star` being the value of `*`.
    pub fn contains(&self, n: u32, star: u32) -> bool {
        self.0.iter().any(|&(a, b)| {
            let (a, b) = (a.resolve(star), b.resolve(star));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            lo <= n && n <= hi
        })
    }

    /// Whether every range is within `1..=max` (for message sequence numbers, RFC 3501 §9).
    pub fn within(&self, max: u32) -> bool {
        // A range ending in `*` is always acceptable (`1:*` on an empty mailbox).
        self.0.iter().all(|&(a, b)| {
            let ok = |x: SeqNum| match x {
                SeqNum::Star => true,
                SeqNum::Value(v) => v <= max,
            };
            (ok(a) && ok(b)) || a == SeqNum::Star || b == SeqNum::Star
        })
    }

    /// The smallest and largest values, `*` resolved to `star`.
    pub fn bounds(&self, star: u32) -> (u32, u32) {
        let mut lo = u32::MAX;
        let mut hi = 0;
        for &(a, b) in &self.0 {
            let (a, b) = (a.resolve(star), b.resolve(star));
            lo = lo.min(a.min(b));
            hi = hi.max(a.max(b));
        }
        (lo, hi)
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = |x: SeqNum| match x {
            SeqNum::Value(v) => v.to_string(),
            SeqNum::Star => "*".to_owned(),
        };
        for (i, &(a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                f.write_str(&one(a))?;
            } else {
                write!(f, "{}:{}", one(a), one(b))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_contains() {
        let s = SequenceSet::parse("1:3,7,9:*").unwrap();
        assert!(s.contains(2, 20) && s.contains(7, 20) && s.contains(20, 20));
        assert!(!s.contains(8, 20));
        let r = SequenceSet::parse("5:2").unwrap();
        assert!(r.contains(3, 10));
        assert!(SequenceSet::parse("0").is_err());
        assert!(SequenceSet::parse("1,,2").is_err());
        assert!(SequenceSet::parse("").is_err());
        assert!(SequenceSet::parse("99999999999").is_err());
        assert_eq!(s.to_string(), "1:3,7,9:*");
        assert_eq!(
            SequenceSet::from_values(&[5, 1, 2, 3, 9])
                .unwrap()
                .to_string(),
            "1:3,5,9"
        );
    }

    proptest::proptest! {
        #[test]
        fn values_round_trip(v in proptest::collection::vec(1u32..200, 1..30)) {
            let s = SequenceSet::from_values(&v).unwrap();
            let p = SequenceSet::parse(&s.to_string()).unwrap();
            for x in 1..210 {
                proptest::prop_assert_eq!(p.contains(x, 1000), v.contains(&x));
            }
        }
    }
}
