//! SYNC_CRC and SYNC_CRC_ANNOT (csync §7.3–7.4): XOR folds over the live records of a
//! mailbox that master and replica compute identically from the same records.
//!
//! Must not: read storage; callers pass records in.

use crate::model::MessageRecord;

/// Initial value of SYNC_CRC_ANNOT (csync §7.4).
pub const ANNOT_CRC_SEED: u32 = 12_345_678;

const THRID: &str = "/vendor/cmu/cyrus-imapd/thrid";
const SAVEDATE: &str = "/vendor/cmu/cyrus-imapd/savedate";
const CREATEDMODSEQ: &str = "/vendor/cmu/cyrus-imapd/createdmodseq";

/// XOR of crc32 of every set flag name: system flags as `\deleted` … lower case, user flags
/// lower-cased (ASCII).
pub fn flag_crc(rec: &MessageRecord) -> u32 {
    let mut crc = 0u32;
    for (on, name) in [
        (rec.flags.deleted, "\\deleted"),
        (rec.flags.answered, "\\answered"),
        (rec.flags.flagged, "\\flagged"),
        (rec.flags.draft, "\\draft"),
        (rec.flags.seen, "\\seen"),
    ] {
        if on {
            crc ^= crc32fast::hash(name.as_bytes());
        }
    }
    for f in &rec.user_flags {
        crc ^= crc32fast::hash(f.to_ascii_lowercase().as_bytes());
    }
    crc
}

/// The basic CRC term of one record (0 for expunged records).
pub fn record_crc_basic(rec: &MessageRecord) -> u32 {
    if rec.expunged {
        return 0;
    }
    let s = format!(
        "{} {} {} ({}) {} {}",
        rec.uid.0,
        rec.modseq.0,
        rec.last_updated,
        flag_crc(rec),
        rec.internaldate,
        rec.guid.to_hex()
    );
    crc32fast::hash(s.as_bytes())
}

/// `crc32("<uid> <entry> <userid> " ++ value)`.
pub fn crc_annot(uid: u32, entry: &str, userid: &str, value: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(format!("{uid} {entry} {userid} ").as_bytes());
    h.update(value);
    h.finalize()
}

/// The annotation CRC term of one record: its stored annotations plus the virtual thrid
/// (unpadded hex), savedate and createdmodseq terms (0 for expunged records).
pub fn record_crc_annot(rec: &MessageRecord) -> u32 {
    if rec.expunged {
        return 0;
    }
    let uid = rec.uid.0;
    let mut crc = 0u32;
    for a in &rec.annotations {
        if !a.value.is_empty() {
            crc ^= crc_annot(uid, &a.entry, &a.userid, &a.value);
        }
    }
    if rec.cid != 0 {
        crc ^= crc_annot(uid, THRID, "", format!("{:x}", rec.cid).as_bytes());
    }
    if rec.savedate != 0 {
        crc ^= crc_annot(uid, SAVEDATE, "", rec.savedate.to_string().as_bytes());
    }
    if rec.createdmodseq.0 != 0 {
        crc ^= crc_annot(
            uid,
            CREATEDMODSEQ,
            "",
            rec.createdmodseq.0.to_string().as_bytes(),
        );
    }
    crc
}

/// (SYNC_CRC, SYNC_CRC_ANNOT) of a set of records.
pub fn mailbox_crcs<'a>(records: impl IntoIterator<Item = &'a MessageRecord>) -> (u32, u32) {
    let mut basic = 0u32;
    let mut annot = ANNOT_CRC_SEED;
    for r in records {
        basic ^= record_crc_basic(r);
        annot ^= record_crc_annot(r);
    }
    (basic, annot)
}

/// Cyrus's comparison: per component, 0 on either side matches anything (csync §7.5).
pub fn crcs_match(a: (u32, u32), b: (u32, u32)) -> bool {
    let one = |x: u32, y: u32| x == 0 || y == 0 || x == y;
    one(a.0, b.0) && one(a.1, b.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Annotation, SystemFlags};
    use types::{Guid, Modseq, Uid};

    fn guid(h: &str) -> Guid {
        Guid::parse_hex(h.as_bytes()).unwrap()
    }

    /// The three records of csync §7.6.
    fn example() -> Vec<MessageRecord> {
        vec![
            MessageRecord {
                uid: Uid(1),
                modseq: Modseq(5),
                last_updated: 1_700_000_000,
                internaldate: 1_699_999_000,
                savedate: 1_700_000_000,
                createdmodseq: Modseq(5),
                guid: guid("258554f4f919439e68f0b5fef2ed4eed80fe5660"),
                flags: SystemFlags {
                    seen: true,
                    ..Default::default()
                },
                user_flags: vec!["$Forwarded".into()],
                ..Default::default()
            },
            MessageRecord {
                uid: Uid(2),
                modseq: Modseq(7),
                last_updated: 1_700_000_100,
                internaldate: 1_700_000_050,
                savedate: 1_700_000_100,
                createdmodseq: Modseq(7),
                guid: guid("6713ac2c9fe1428c12202f33be9044694d7ab876"),
                annotations: vec![Annotation {
                    entry: "/comment".into(),
                    userid: String::new(),
                    value: b"important".to_vec(),
                    modseq: Modseq(7),
                }],
                ..Default::default()
            },
            MessageRecord {
                uid: Uid(3),
                modseq: Modseq(9),
                last_updated: 1_700_000_200,
                internaldate: 1_700_000_150,
                savedate: 1_700_000_150,
                createdmodseq: Modseq(8),
                guid: guid("da3b9d4214bf4878f7ff8abbdae1b6ddeb74259d"),
                expunged: true,
                ..Default::default()
            },
        ]
    }

    #[test]
    fn flag_crc_vectors() {
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32fast::hash(b"\\seen"), 3_201_761_491);
        assert_eq!(crc32fast::hash(b"$forwarded"), 2_528_186_923);
        assert_eq!(crc32fast::hash(b"\\deleted"), 301_770_925);
        assert_eq!(crc32fast::hash(b"\\answered"), 2_050_749_261);
        assert_eq!(crc32fast::hash(b"\\flagged"), 3_986_028_895);
        assert_eq!(crc32fast::hash(b"\\draft"), 1_255_147_686);
        let recs = example();
        assert_eq!(flag_crc(&recs[0]), 677_778_168);
        assert_eq!(flag_crc(&recs[1]), 0);
    }

    #[test]
    fn worked_example_section_7_6() {
        let recs = example();
        assert_eq!(record_crc_basic(&recs[0]), 1_891_113_015);
        assert_eq!(record_crc_basic(&recs[1]), 1_227_066_130);
        assert_eq!(record_crc_basic(&recs[2]), 0);
        assert_eq!(crc_annot(1, SAVEDATE, "", b"1700000000"), 2_861_288_652);
        assert_eq!(crc_annot(1, CREATEDMODSEQ, "", b"5"), 2_343_119_742);
        assert_eq!(crc_annot(2, SAVEDATE, "", b"1700000100"), 722_668_110);
        assert_eq!(crc_annot(2, CREATEDMODSEQ, "", b"7"), 1_570_554_145);
        assert_eq!(crc_annot(2, "/comment", "", b"important"), 240_448_163);
        assert_eq!(mailbox_crcs(&recs), (966_497_061, 1_497_743_152));
    }

    #[test]
    fn thrid_term_is_unpadded() {
        assert_eq!(crc_annot(2, THRID, "", b"1a2b3c4d5e6f7081"), 2_056_534_595);
        let mut r = example().remove(1);
        let before = record_crc_annot(&r);
        r.cid = 0x1a2b_3c4d_5e6f_7081;
        assert_eq!(record_crc_annot(&r), before ^ 2_056_534_595);
        r.cid = 0xabcd;
        assert_eq!(
            record_crc_annot(&r),
            before ^ crc_annot(2, THRID, "", b"abcd")
        );
    }

    #[test]
    fn section_10_3_vectors() {
        let mut recs = example();
        recs[0].modseq = Modseq(11);
        recs[0].last_updated = 1_700_000_400;
        recs[0].flags.answered = true;
        assert_eq!(flag_crc(&recs[0]), 1_381_884_341);
        assert_eq!(record_crc_basic(&recs[0]), 830_620_029);
        recs.push(MessageRecord {
            uid: Uid(4),
            modseq: Modseq(10),
            last_updated: 1_700_000_300,
            internaldate: 1_700_000_290,
            savedate: 1_700_000_300,
            createdmodseq: Modseq(10),
            guid: guid("baa42cde5368c28de2e258b151c9f61108cf8c27"),
            ..Default::default()
        });
        assert_eq!(record_crc_basic(&recs[3]), 3_697_472_894);
        assert_eq!(mailbox_crcs(&recs), (2_764_259_089, 230_357_592));
    }

    #[test]
    fn empty_mailbox_and_matching() {
        assert_eq!(mailbox_crcs(&[]), (0, ANNOT_CRC_SEED));
        assert!(crcs_match((0, 5), (7, 5)));
        assert!(!crcs_match((1, 5), (7, 5)));
        assert!(crcs_match((7, 0), (7, 9)));
    }
}
