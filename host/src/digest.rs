//! Content digests: SHA-256 in lower-case hex, whole or shortened to a stable key. One
//! place, so every module names content the same way.

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes` in lower-case hex (64 characters).
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

/// The first `bytes` bytes of the SHA-256 of `parts`, each followed by a NUL (so
/// `["ab", "c"]` and `["a", "bc"]` differ), in lower-case hex: a short stable key.
pub fn short(parts: &[&[u8]], bytes: usize) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part);
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..bytes.min(32)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_separated_parts() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(short(&[b"ab", b"c"], 8).len(), 16);
        assert_ne!(short(&[b"ab", b"c"], 8), short(&[b"a", b"bc"], 8));
    }
}
