//! Reading RecordBatch v2 *headers* (never records) from a produce request's records blob.
//!
//! The broker needs only a few header fields before handing the bytes to the log: the
//! transactional flag and producer id and epoch (a transactional append is verified first, see
//! `txn_partitions`) and record counts for the counters.
//! Full validation (CRC, magic, lengths, sequences) is the log's job.

/// Header fields of one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub magic: i8,
    pub attributes: i16,
    pub records_count: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

impl BatchHeader {
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }
}

/// Size of the v2 batch header up to and including `recordsCount`.
pub(crate) const HEADER_BYTES: usize = 61;

/// Iterates over the batch headers in `bytes`; stops at the first incomplete one (the log will
/// reject it with CORRUPT_MESSAGE).
pub(crate) fn headers(bytes: &[u8]) -> impl Iterator<Item = BatchHeader> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let rest = bytes.get(pos..)?;
        if rest.len() < HEADER_BYTES {
            return None;
        }
        let be_i32 = |at: usize| i32::from_be_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]]);
        let batch_length = be_i32(8);
        if batch_length < (HEADER_BYTES - 12) as i32 {
            return None;
        }
        let h = BatchHeader {
            magic: rest[16] as i8,
            attributes: i16::from_be_bytes([rest[21], rest[22]]),
            producer_id: i64::from_be_bytes(rest[43..51].try_into().ok()?),
            producer_epoch: i16::from_be_bytes([rest[51], rest[52]]),
            records_count: be_i32(57),
        };
        pos = pos.checked_add(12 + batch_length as usize)?;
        Some(h)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_and_stops_on_garbage() {
        let mut b = vec![0u8; 70];
        b[8..12].copy_from_slice(&(58i32).to_be_bytes());
        b[16] = 2;
        b[21..23].copy_from_slice(&0x10i16.to_be_bytes());
        b[57..61].copy_from_slice(&3i32.to_be_bytes());
        let hs: Vec<_> = headers(&b).collect();
        assert_eq!(hs.len(), 1);
        assert!(hs[0].is_transactional());
        assert_eq!(hs[0].records_count, 3);
        assert_eq!(headers(&[1, 2, 3]).count(), 0);
    }
}
