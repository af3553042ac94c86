//! The audit log's hash chain, the same for every backend: how a record's hash is made
//! from the previous one and its content, and the check that walks a chain in order.

use super::{AuditBreak, AuditEntry, AuditRecord, Millis, StoreError};
use sha2::{Digest, Sha256};

/// The chain hash of one record (SHA-256, lower-case hex): the previous record's hash
/// (empty for the first) and every field, each prefixed with its length so no two
/// different records hash the same.
pub fn chain_hash(previous: &str, seq: i64, at: Millis, entry: &AuditEntry) -> String {
    let mut hash = Sha256::new();
    for field in [
        previous,
        &seq.to_string(),
        &at.to_string(),
        &entry.connection,
        &entry.subject,
        &entry.kind,
        &entry.data,
    ] {
        hash.update((field.len() as u64).to_be_bytes());
        hash.update(field.as_bytes());
    }
    hex::encode(hash.finalize())
}

/// Walks a chain's records in sequence order, from the first.
#[derive(Debug)]
pub struct ChainCheck {
    previous: String,
    expected_seq: i64,
    count: u64,
}

impl Default for ChainCheck {
    fn default() -> Self {
        ChainCheck {
            previous: String::new(),
            expected_seq: 1,
            count: 0,
        }
    }
}

impl ChainCheck {
    /// Checks the next record: it must be the next in sequence and its hash must cover
    /// the previous one's and its own content.
    pub fn next(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        if record.seq != self.expected_seq {
            return Err(StoreError::AuditBroken {
                seq: self.expected_seq,
                reason: AuditBreak::Missing,
            });
        }
        if chain_hash(&self.previous, record.seq, record.at, &record.entry) != record.hash {
            return Err(StoreError::AuditBroken {
                seq: record.seq,
                reason: AuditBreak::Altered,
            });
        }
        self.previous.clone_from(&record.hash);
        self.expected_seq += 1;
        self.count += 1;
        Ok(())
    }

    /// How many records were checked.
    pub fn count(&self) -> u64 {
        self.count
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

    /// Stores already written hold these hashes: the format may never change.
    #[test]
    fn the_hash_is_stable() {
        let first = chain_hash("", 1, 1_000_000, &entry("order:1", "{\"n\":1}"));
        assert_eq!(
            first,
            "b19f5ae14efd93c4a76a62d8005febcdd4a1120f888392a6687945f4ad5ddd2e"
        );
        assert_eq!(
            chain_hash(&first, 2, 1_000_500, &entry("webhook", "{}")),
            "d7de9fb666444ea797596faf4ce7ff765ca260a504235ac0b9bcb60b1f6e840c"
        );
        // Moving a byte from one field to the next changes the hash.
        assert_ne!(
            chain_hash("", 1, 1, &entry("ab", "c")),
            chain_hash("", 1, 1, &entry("a", "bc"))
        );
    }

    #[test]
    fn the_check_finds_a_gap_and_an_edit() {
        let record = |seq, previous: &str, data: &str| {
            let entry = entry("order:1", data);
            AuditRecord {
                seq,
                at: 5,
                hash: chain_hash(previous, seq, 5, &entry),
                entry,
            }
        };
        let one = record(1, "", "a");
        let two = record(2, &one.hash, "b");
        let mut check = ChainCheck::default();
        check.next(&one).unwrap();
        check.next(&two).unwrap();
        assert_eq!(check.count(), 2);

        let mut gap = ChainCheck::default();
        gap.next(&one).unwrap();
        let three = record(3, &two.hash, "c");
        assert!(matches!(
            gap.next(&three),
            Err(StoreError::AuditBroken {
                seq: 2,
                reason: AuditBreak::Missing
            })
        ));

        let mut edited = ChainCheck::default();
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
}
