//! The part of crc-fast's API that `aws-smithy-checksums` calls, and nothing else.
//!
//! Why this exists: every function that links the S3 client carried crc-fast's precomputed
//! tables for each of the ~60 catalogued CRC variants (0.68 MB, incompressible: 0.64 MB of a
//! 4.6 MB zipped artifact), because its software fallback dispatches on the algorithm at run
//! time and so keeps them all. S3 uses three: CRC-32 (the SDK's default for uploads), CRC-32C
//! and CRC-64/NVME (S3's default full-object checksum, validated on downloads). The workspace
//! patches crc-fast with this crate (`[patch.crates-io]`), so the SDK's checksums are these:
//! CRC-32 from `crc32fast` (carry-less multiply on x86-64, CRC instructions on arm64), the
//! other two from `crc`'s compile-time slice-by-16 tables (16 and 32 KB).
//!
//! If a newer `aws-smithy-checksums` calls something this crate lacks, the build fails here,
//! loudly. If it asks for a crc-fast this version cannot satisfy, cargo quietly takes crates.io's
//! again (this crate is a workspace member, so cargo never calls the patch unused): the test
//! `deploy_path::the_s3_checksums_come_from_the_lean_crate` fails on the registry entry in
//! `Cargo.lock`.

use crc::{Crc, Table, CRC_32_ISCSI, CRC_64_NVME};

static CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);
static CRC64_NVME: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_NVME);

/// The algorithms S3 uses, named as crc-fast names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrcAlgorithm {
    /// CRC-32 (zlib, Ethernet): S3's `CRC32`.
    Crc32IsoHdlc,
    /// CRC-32C (Castagnoli): S3's `CRC32C`.
    Crc32Iscsi,
    /// CRC-64/NVME: S3's `CRC64NVME`.
    Crc64Nvme,
}

/// The checksum of `data`, widened to `u64` as crc-fast returns it.
pub fn checksum(algorithm: CrcAlgorithm, data: &[u8]) -> u64 {
    let mut digest = Digest::new(algorithm);
    digest.update(data);
    digest.finalize()
}

/// A running checksum.
pub struct Digest {
    state: State,
}

enum State {
    Crc32IsoHdlc(crc32fast::Hasher),
    Crc32Iscsi(crc::Digest<'static, u32, Table<16>>),
    Crc64Nvme(crc::Digest<'static, u64, Table<16>>),
}

impl Digest {
    pub fn new(algorithm: CrcAlgorithm) -> Digest {
        let state = match algorithm {
            CrcAlgorithm::Crc32IsoHdlc => State::Crc32IsoHdlc(crc32fast::Hasher::new()),
            CrcAlgorithm::Crc32Iscsi => State::Crc32Iscsi(CRC32C.digest()),
            CrcAlgorithm::Crc64Nvme => State::Crc64Nvme(CRC64_NVME.digest()),
        };
        Digest { state }
    }

    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Crc32IsoHdlc(hasher) => hasher.update(data),
            State::Crc32Iscsi(digest) => digest.update(data),
            State::Crc64Nvme(digest) => digest.update(data),
        }
    }

    /// The checksum of everything given so far; the digest can go on being updated.
    pub fn finalize(&self) -> u64 {
        match &self.state {
            State::Crc32IsoHdlc(hasher) => u64::from(hasher.clone().finalize()),
            State::Crc32Iscsi(digest) => u64::from(digest.clone().finalize()),
            State::Crc64Nvme(digest) => digest.clone().finalize(),
        }
    }

    pub fn algorithm(&self) -> CrcAlgorithm {
        match self.state {
            State::Crc32IsoHdlc(_) => CrcAlgorithm::Crc32IsoHdlc,
            State::Crc32Iscsi(_) => CrcAlgorithm::Crc32Iscsi,
            State::Crc64Nvme(_) => CrcAlgorithm::Crc64Nvme,
        }
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digest").field("algorithm", &self.algorithm()).field("value", &self.finalize()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [CrcAlgorithm; 3] = [CrcAlgorithm::Crc32IsoHdlc, CrcAlgorithm::Crc32Iscsi, CrcAlgorithm::Crc64Nvme];

    #[test]
    fn each_algorithm_gives_its_catalogued_check_value() {
        // The "check" of each entry in the CRC catalogue: the checksum of the ASCII "123456789".
        assert_eq!(checksum(CrcAlgorithm::Crc32IsoHdlc, b"123456789"), 0xcbf4_3926);
        assert_eq!(checksum(CrcAlgorithm::Crc32Iscsi, b"123456789"), 0xe306_9283);
        assert_eq!(checksum(CrcAlgorithm::Crc64Nvme, b"123456789"), 0xae8b_1486_0a79_9888);
    }

    #[test]
    fn the_sdks_own_expected_checksums_of_its_test_body() {
        // aws-smithy-checksums' tests expect these for the body "test data" (its
        // `x-amz-checksum-*` headers carry them big-endian, base64-encoded).
        assert_eq!(checksum(CrcAlgorithm::Crc32IsoHdlc, b"test data"), 0xd308_aeb2);
        assert_eq!(checksum(CrcAlgorithm::Crc32Iscsi, b"test data"), 0x3379_b4ca);
        assert_eq!(checksum(CrcAlgorithm::Crc64Nvme, b"test data"), 0xaeca_f3af_9c98_a855);
        assert_eq!(checksum(CrcAlgorithm::Crc64Nvme, b""), 0);
    }

    #[test]
    fn finalizing_does_not_end_the_digest() {
        let mut digest = Digest::new(CrcAlgorithm::Crc64Nvme);
        digest.update(b"1234");
        let _ = digest.finalize();
        digest.update(b"56789");
        assert_eq!(digest.finalize(), 0xae8b_1486_0a79_9888);
        assert!(format!("{digest:?}").contains("Crc64Nvme"));
    }

    proptest! {
        #[test]
        fn any_split_of_the_input_gives_the_one_shot_checksum(data in proptest::collection::vec(any::<u8>(), 0..4096), cut in any::<prop::sample::Index>()) {
            let at = cut.index(data.len() + 1);
            for algorithm in ALL {
                let mut digest = Digest::new(algorithm);
                digest.update(&data[..at]);
                digest.update(&data[at..]);
                prop_assert_eq!(digest.finalize(), checksum(algorithm, &data));
            }
        }
    }
}
