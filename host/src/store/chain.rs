//! The audit log's hash chain, the same for every backend: how a record's hash is made
//! from the previous one and its content, the signed head kept outside the store, and the
//! check that walks a chain in order.
//!
//! With an audit key (derived from the master key) each hash is an HMAC-SHA256, written
//! `k1:<key id>:<hex>`: rewriting an entry and recomputing every later hash takes the key.
//! Without one it is a plain SHA-256 (hex), which shows an edited entry but not one
//! rewritten with every later hash recomputed; once an entry is keyed, every later one
//! must be keyed under the same key (an append without it is refused). A [`SignedHead`]
//! (the newest entry's number and hash, with an HMAC) kept outside the store shows entries
//! removed from the end, and a rewritten log that no longer leads to the head.

use hmac::{Hmac, Mac};
use sha2::digest::Update;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{AuditBreak, AuditEntry, AuditRecord, Millis, StoreError};

/// The key the audit chain and its heads are kept under. Its bytes are wiped when dropped.
#[derive(Clone)]
pub struct AuditKey {
    key: Zeroizing<[u8; 32]>,
    id: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.id)
    }
}

impl AuditKey {
    /// The key from its 32 bytes (see `MasterKey::audit_key`).
    pub fn new(key: Zeroizing<[u8; 32]>) -> AuditKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_slice()).expect("any key length");
        Mac::update(&mut mac, b"ml-connector audit key id");
        let id = hex::encode(&mac.finalize().into_bytes()[..6]);
        AuditKey { key, id }
    }

    /// A name for the key that reveals nothing of it (an HMAC under it).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(self.key.as_slice()).expect("any key length")
    }
}

const KEYED: &str = "k1:";

/// Feeds the record's fields, each prefixed with its length so no two different records
/// hash the same.
fn feed(hash: &mut impl Update, previous: &str, seq: i64, at: Millis, entry: &AuditEntry) {
    for field in [
        previous,
        &seq.to_string(),
        &at.to_string(),
        &entry.connection,
        &entry.subject,
        &entry.kind,
        &entry.data,
    ] {
        hash.update(&(field.len() as u64).to_be_bytes());
        hash.update(field.as_bytes());
    }
}

/// The chain hash of one record: over the previous record's hash (empty for the first)
/// and every field; an HMAC under `key` (`k1:<key id>:<hex>`), else SHA-256 (hex).
pub fn chain_hash(
    key: Option<&AuditKey>,
    previous: &str,
    seq: i64,
    at: Millis,
    entry: &AuditEntry,
) -> String {
    match key {
        Some(key) => {
            let mut mac = key.mac();
            feed(&mut mac, previous, seq, at, entry);
            format!(
                "{KEYED}{}:{}",
                key.id,
                hex::encode(mac.finalize().into_bytes())
            )
        }
        None => {
            let mut hash = Sha256::new();
            feed(&mut hash, previous, seq, at, entry);
            hex::encode(hash.finalize())
        }
    }
}

/// The key id a keyed hash was made under; `None` for an unkeyed one.
fn key_id_of(hash: &str) -> Option<&str> {
    hash.strip_prefix(KEYED)
        .map(|rest| rest.split_once(':').map_or(rest, |(id, _)| id))
}

/// The hash of the record appended after `previous`: refused when the log is keyed and
/// `key` is missing or another key (that would leave a break no one could tell from a
/// forgery).
pub fn next_hash(
    key: Option<&AuditKey>,
    previous: &str,
    seq: i64,
    at: Millis,
    entry: &AuditEntry,
) -> Result<String, StoreError> {
    if let Some(id) = key_id_of(previous) {
        match key {
            Some(key) if key.id == id => {}
            Some(key) => {
                return Err(StoreError::AuditKey(format!(
                    "the audit log is kept under another master key (key id {id}; this one is {})",
                    key.id
                )));
            }
            None => {
                return Err(StoreError::AuditKey(format!(
                    "the audit log is keyed (key id {id}): set the master key to write to it"
                )));
            }
        }
    }
    Ok(chain_hash(key, previous, seq, at, entry))
}

/// The newest entry's number and hash as some moment saw them, signed with the audit key:
/// kept outside the store (a file, the log), it shows whether entries were removed from
/// the end or the log was rewritten since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHead {
    pub seq: i64,
    pub hash: String,
    /// When it was signed.
    pub at: Millis,
    mac: String,
}

const HEAD_PREFIX: &str = "ml-connector audit head v1";

/// Why a head's text is not a head.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an audit head (`{HEAD_PREFIX} seq=N at=MILLIS hash=H mac=M`): {0}")]
pub struct HeadError(String);

impl SignedHead {
    fn mac(key: &AuditKey, seq: i64, hash: &str, at: Millis) -> Hmac<Sha256> {
        let mut mac = key.mac();
        Mac::update(&mut mac, HEAD_PREFIX.as_bytes());
        let nothing = AuditEntry {
            connection: String::new(),
            subject: String::new(),
            kind: String::new(),
            data: String::new(),
        };
        feed(&mut mac, hash, seq, at, &nothing);
        mac
    }

    /// Signs the entry `seq` with `hash` as the head at `at`.
    pub fn sign(key: &AuditKey, seq: i64, hash: &str, at: Millis) -> SignedHead {
        let mac = SignedHead::mac(key, seq, hash, at).finalize().into_bytes();
        SignedHead {
            seq,
            hash: hash.to_string(),
            at,
            mac: hex::encode(mac),
        }
    }

    /// Whether `key` signed it.
    pub fn signed_by(&self, key: &AuditKey) -> bool {
        let mac = SignedHead::mac(key, self.seq, &self.hash, self.at);
        hex::decode(&self.mac).is_ok_and(|tag| mac.verify_slice(&tag).is_ok())
    }

    /// One line of text.
    pub fn to_line(&self) -> String {
        format!(
            "{HEAD_PREFIX} seq={} at={} hash={} mac={}",
            self.seq, self.at, self.hash, self.mac
        )
    }

    /// The head in a line of text (the last such line of `text`).
    pub fn parse(text: &str) -> Result<SignedHead, HeadError> {
        let line = text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix(HEAD_PREFIX))
            .ok_or_else(|| HeadError("no head line".into()))?;
        let mut fields = std::collections::BTreeMap::new();
        for part in line.split_whitespace() {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| HeadError(format!("`{part}` is not NAME=VALUE")))?;
            fields.insert(name, value);
        }
        let field = |name: &str| {
            fields
                .get(name)
                .map(|v| v.to_string())
                .ok_or_else(|| HeadError(format!("no {name}")))
        };
        let number = |name: &str| {
            field(name)?
                .parse::<i64>()
                .map_err(|_| HeadError(format!("{name} is not a number")))
        };
        Ok(SignedHead {
            seq: number("seq")?,
            at: number("at")?,
            hash: field("hash")?,
            mac: field("mac")?,
        })
    }
}

/// What a check of the whole chain found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainSummary {
    pub entries: u64,
    /// Entries keyed (checked with the key).
    pub keyed: u64,
    /// The newest entry's number and hash.
    pub last: Option<(i64, String)>,
}

/// Walks a chain's records in sequence order, from the first, with the audit key when
/// there is one, against a signed head when one is given.
#[derive(Debug)]
pub struct ChainCheck<'a> {
    key: Option<&'a AuditKey>,
    head: Option<&'a SignedHead>,
    previous: String,
    expected_seq: i64,
    summary: ChainSummary,
}

impl<'a> ChainCheck<'a> {
    /// A check with `key` (needed for keyed entries) against `head` (checked to be signed
    /// by `key` first).
    pub fn new(
        key: Option<&'a AuditKey>,
        head: Option<&'a SignedHead>,
    ) -> Result<ChainCheck<'a>, StoreError> {
        if let Some(head) = head {
            let Some(key) = key else {
                return Err(StoreError::AuditKey(
                    "a signed head is checked with the master key: set it".into(),
                ));
            };
            if !head.signed_by(key) {
                return Err(StoreError::AuditBroken {
                    seq: head.seq,
                    reason: AuditBreak::HeadForged,
                });
            }
        }
        Ok(ChainCheck {
            key,
            head,
            previous: String::new(),
            expected_seq: 1,
            summary: ChainSummary::default(),
        })
    }

    /// Checks the next record: it must be the next in sequence, its hash must cover the
    /// previous one's and its own content, and once the log is keyed it must be keyed.
    pub fn next(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        let broken = |seq, reason| Err(StoreError::AuditBroken { seq, reason });
        if record.seq != self.expected_seq {
            return broken(self.expected_seq, AuditBreak::Missing);
        }
        let expected = match key_id_of(&record.hash) {
            Some(id) => match self.key {
                Some(key) if key.id == id => chain_hash(
                    Some(key),
                    &self.previous,
                    record.seq,
                    record.at,
                    &record.entry,
                ),
                _ => return broken(record.seq, AuditBreak::OtherKey(id.to_string())),
            },
            None if self.summary.keyed > 0 => return broken(record.seq, AuditBreak::Unkeyed),
            None => chain_hash(None, &self.previous, record.seq, record.at, &record.entry),
        };
        if expected != record.hash {
            return broken(record.seq, AuditBreak::Altered);
        }
        if let Some(head) = self.head
            && head.seq == record.seq
            && head.hash != record.hash
        {
            return broken(record.seq, AuditBreak::NotTheHead);
        }
        if key_id_of(&record.hash).is_some() {
            self.summary.keyed += 1;
        }
        self.previous.clone_from(&record.hash);
        self.expected_seq += 1;
        self.summary.entries += 1;
        self.summary.last = Some((record.seq, record.hash.clone()));
        Ok(())
    }

    /// The check's end: the log must reach the head.
    pub fn finish(self) -> Result<ChainSummary, StoreError> {
        if let Some(head) = self.head {
            let last = self.summary.last.as_ref().map_or(0, |(seq, _)| *seq);
            if last < head.seq {
                return Err(StoreError::AuditBroken {
                    seq: head.seq,
                    reason: AuditBreak::Truncated { last },
                });
            }
        }
        Ok(self.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(subject: &str, data: &str) -> AuditEntry {
        AuditEntry {
            connection: "main".into(),
            subject: subject.into(),
            kind: "received".into(),
            data: data.into(),
        }
    }

    fn key(byte: u8) -> AuditKey {
        AuditKey::new(Zeroizing::new([byte; 32]))
    }

    /// Stores already written hold these hashes: the format may never change.
    #[test]
    fn the_hash_is_stable() {
        let first = chain_hash(None, "", 1, 1_000_000, &entry("order:1", "{\"n\":1}"));
        assert_eq!(
            first,
            "b19f5ae14efd93c4a76a62d8005febcdd4a1120f888392a6687945f4ad5ddd2e"
        );
        assert_eq!(
            chain_hash(None, &first, 2, 1_000_500, &entry("webhook", "{}")),
            "d7de9fb666444ea797596faf4ce7ff765ca260a504235ac0b9bcb60b1f6e840c"
        );
        // Moving a byte from one field to the next changes the hash.
        assert_ne!(
            chain_hash(None, "", 1, 1, &entry("ab", "c")),
            chain_hash(None, "", 1, 1, &entry("a", "bc"))
        );
    }

    #[test]
    fn the_check_finds_a_gap_and_an_edit() {
        let record = |seq, previous: &str, data: &str| {
            let entry = entry("order:1", data);
            AuditRecord {
                seq,
                at: 5,
                hash: chain_hash(None, previous, seq, 5, &entry),
                entry,
            }
        };
        let one = record(1, "", "a");
        let two = record(2, &one.hash, "b");
        let mut check = ChainCheck::new(None, None).unwrap();
        check.next(&one).unwrap();
        check.next(&two).unwrap();
        assert_eq!(check.finish().unwrap().entries, 2);

        let mut gap = ChainCheck::new(None, None).unwrap();
        gap.next(&one).unwrap();
        let three = record(3, &two.hash, "c");
        assert!(matches!(
            gap.next(&three),
            Err(StoreError::AuditBroken {
                seq: 2,
                reason: AuditBreak::Missing
            })
        ));

        let mut edited = ChainCheck::new(None, None).unwrap();
        edited.next(&one).unwrap();
        let mut changed = two.clone();
        changed.entry.data = "B".into();
        assert!(matches!(
            edited.next(&changed),
            Err(StoreError::AuditBroken {
                seq: 2,
                reason: AuditBreak::Altered
            })
        ));
    }

    /// A keyed log of `n` entries after `unkeyed` plain ones.
    fn log(key: &AuditKey, unkeyed: i64, n: i64) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = Vec::new();
        for seq in 1..=unkeyed + n {
            let previous = records.last().map_or(String::new(), |r| r.hash.clone());
            let entry = entry("order:1", &format!("{{\"n\":{seq}}}"));
            let key = (seq > unkeyed).then_some(key);
            records.push(AuditRecord {
                seq,
                at: seq * 10,
                hash: next_hash(key, &previous, seq, seq * 10, &entry).unwrap(),
                entry,
            });
        }
        records
    }

    fn check(
        records: &[AuditRecord],
        key: Option<&AuditKey>,
        head: Option<&SignedHead>,
    ) -> Result<ChainSummary, StoreError> {
        let mut check = ChainCheck::new(key, head)?;
        for record in records {
            check.next(record)?;
        }
        check.finish()
    }

    fn broken(result: Result<ChainSummary, StoreError>) -> (i64, AuditBreak) {
        match result {
            Err(StoreError::AuditBroken { seq, reason }) => (seq, reason),
            other => panic!("expected a break, got {other:?}"),
        }
    }

    #[test]
    fn a_keyed_log_shows_a_rewrite_a_downgrade_and_another_key() {
        let key = key(7);
        let records = log(&key, 2, 4);
        let summary = check(&records, Some(&key), None).unwrap();
        assert_eq!((summary.entries, summary.keyed), (6, 4));
        assert!(records[2].hash.starts_with(&format!("k1:{}:", key.id())));

        // Rewritten and every later hash recomputed, without the key: as plain hashes.
        let mut rechained = records.clone();
        rechained[3].entry.data = "{\"n\":40}".into();
        for i in 3..rechained.len() {
            let previous = rechained[i - 1].hash.clone();
            let r = &rechained[i];
            rechained[i].hash = chain_hash(None, &previous, r.seq, r.at, &r.entry);
        }
        assert_eq!(
            broken(check(&rechained, Some(&key), None)),
            (4, AuditBreak::Unkeyed)
        );
        // ... or under a key of one's own.
        let forger = super::tests::key(8);
        for i in 3..rechained.len() {
            let previous = rechained[i - 1].hash.clone();
            let r = &rechained[i];
            rechained[i].hash = chain_hash(Some(&forger), &previous, r.seq, r.at, &r.entry);
        }
        assert!(matches!(
            broken(check(&rechained, Some(&key), None)),
            (4, AuditBreak::OtherKey(_))
        ));
        // A keyed log cannot be checked, or written, without its key.
        assert!(matches!(
            broken(check(&records, None, None)),
            (3, AuditBreak::OtherKey(_))
        ));
        let last = records.last().unwrap();
        for wrong in [None, Some(&forger)] {
            assert!(matches!(
                next_hash(wrong, &last.hash, 7, 70, &entry("order:1", "{}")),
                Err(StoreError::AuditKey(_))
            ));
        }
    }

    #[test]
    fn a_signed_head_shows_removed_newest_entries_and_a_rewritten_log() {
        let key = key(7);
        let records = log(&key, 0, 5);
        let (seq, hash) = (records[4].seq, records[4].hash.clone());
        let head = SignedHead::sign(&key, seq, &hash, 1_000);
        assert_eq!(SignedHead::parse(&head.to_line()).unwrap(), head);
        assert_eq!(check(&records, Some(&key), Some(&head)).unwrap().entries, 5);
        // More entries since the head: fine.
        let earlier = SignedHead::sign(&key, 3, &records[2].hash, 900);
        check(&records, Some(&key), Some(&earlier)).unwrap();

        // The two newest removed: the head names an entry the log no longer has.
        assert_eq!(
            broken(check(&records[..3], Some(&key), Some(&head))),
            (5, AuditBreak::Truncated { last: 3 })
        );
        // The head entry rewritten by the key's holder: it is not the one signed.
        let mut rewritten = records.clone();
        rewritten[4].entry.data = "{}".into();
        let previous = rewritten[3].hash.clone();
        let r = &rewritten[4];
        rewritten[4].hash = chain_hash(Some(&key), &previous, r.seq, r.at, &r.entry);
        assert_eq!(
            broken(check(&rewritten, Some(&key), Some(&head))),
            (5, AuditBreak::NotTheHead)
        );
        // Reordered entries break the sequence or the chain.
        let mut reordered = records.clone();
        reordered.swap(1, 2);
        assert_eq!(
            broken(check(&reordered, Some(&key), None)),
            (2, AuditBreak::Missing)
        );
        // A head not signed with the key is refused.
        let forged = SignedHead::sign(&super::tests::key(9), seq, &hash, 1_000);
        assert_eq!(
            broken(check(&records, Some(&key), Some(&forged))),
            (5, AuditBreak::HeadForged)
        );
        assert!(SignedHead::parse("seq=1").is_err());
    }
}
