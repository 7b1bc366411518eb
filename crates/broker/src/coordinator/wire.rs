//! Kafka's message encoding for the records the coordinators keep in their internal topics
//! (`__consumer_offsets`, `__transaction_state`): big-endian integers, int16-length strings,
//! compact (varint) forms in flexible versions, tagged fields. The record *schemas* live with
//! their coordinator (`group_records`, `txn`); this is only the reading and writing of fields,
//! written once.
//!
//! Reading never trusts a length: every take is checked against what is left, and array and
//! tagged-field counts larger than the remaining bytes are refused before anything is allocated.
//! Writing covers the non-flexible forms only, which is what Kafka writes for these records.

use bytes::Bytes;

/// Why bytes are not the record a coordinator expected; says which field failed and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A cursor over one record's key or value. `what` names the field for the error.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, at: 0 }
    }

    fn left(&self) -> usize {
        self.buf.len() - self.at
    }

    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.buf.len()).ok_or_else(|| {
            DecodeError(format!("{what}: needs {n} bytes at byte {}, only {} left", self.at, self.left()))
        })?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }
    pub(crate) fn i8(&mut self, what: &str) -> Result<i8, DecodeError> {
        Ok(self.take(1, what)?[0] as i8)
    }
    pub(crate) fn i16(&mut self, what: &str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }
    pub(crate) fn i32(&mut self, what: &str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    pub(crate) fn i64(&mut self, what: &str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    /// An unsigned varint as lengths and tags use; bounded at 10 bytes (a u64's most).
    pub(crate) fn uvarint(&mut self, what: &str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.take(1, what)?[0];
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError(format!("{what}: unsigned varint longer than 10 bytes")))
    }
    fn utf8(&mut self, n: usize, what: &str) -> Result<String, DecodeError> {
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError(format!("{what}: not UTF-8")))
    }
    /// A length or count: int16/int32 in classic versions, varint + 1 in flexible ones; < 0 is null.
    fn length(&mut self, flexible: bool, wide: bool, what: &str) -> Result<i64, DecodeError> {
        Ok(match (flexible, wide) {
            (true, _) => self.uvarint(what)? as i64 - 1,
            (false, false) => i64::from(self.i16(what)?),
            (false, true) => i64::from(self.i32(what)?),
        })
    }
    /// A nullable string, flexible (compact) or not.
    pub(crate) fn string_opt(&mut self, flexible: bool, what: &str) -> Result<Option<String>, DecodeError> {
        let len = self.length(flexible, false, what)?;
        if len < 0 {
            return Ok(None);
        }
        self.utf8(len as usize, what).map(Some)
    }
    pub(crate) fn string(&mut self, flexible: bool, what: &str) -> Result<String, DecodeError> {
        self.string_opt(flexible, what)?.ok_or_else(|| DecodeError(format!("{what}: null where a string is required")))
    }
    pub(crate) fn bytes(&mut self, flexible: bool, what: &str) -> Result<Bytes, DecodeError> {
        let len = self.length(flexible, true, what)?;
        if len < 0 {
            return Err(DecodeError(format!("{what}: null where bytes are required")));
        }
        Ok(Bytes::copy_from_slice(self.take(len as usize, what)?))
    }
    /// An array's element count; `None` for a null array.
    pub(crate) fn array_len_opt(&mut self, flexible: bool, what: &str) -> Result<Option<usize>, DecodeError> {
        let n = self.length(flexible, true, what)?;
        if n < 0 {
            return Ok(None);
        }
        // Every element takes at least one byte: a larger count is corrupt, not a reason to
        // allocate.
        if n as usize > self.left() {
            return Err(DecodeError(format!("{what}: {n} elements cannot fit in {} bytes", self.left())));
        }
        Ok(Some(n as usize))
    }
    pub(crate) fn array_len(&mut self, flexible: bool, what: &str) -> Result<usize, DecodeError> {
        self.array_len_opt(flexible, what)?.ok_or_else(|| DecodeError(format!("{what}: null array")))
    }
    /// A tagged-field section (flexible versions): (tag, bytes), for the caller to pick from.
    pub(crate) fn tagged(&mut self, what: &str) -> Result<Vec<(u64, &'a [u8])>, DecodeError> {
        let n = self.uvarint(what)? as usize;
        if n > self.left() {
            return Err(DecodeError(format!("{what}: {n} tagged fields cannot fit in {} bytes", self.left())));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let tag = self.uvarint(what)?;
            let size = self.uvarint(what)? as usize;
            out.push((tag, self.take(size, what)?));
        }
        Ok(out)
    }
    /// A tagged-field section none of whose tags the caller uses.
    pub(crate) fn skip_tagged(&mut self, what: &str) -> Result<(), DecodeError> {
        self.tagged(what).map(|_| ())
    }
    /// Checks that nothing follows the last field.
    pub(crate) fn done(&self, what: &str) -> Result<(), DecodeError> {
        if self.at != self.buf.len() {
            return Err(DecodeError(format!("{what}: {} bytes left after the last field", self.left())));
        }
        Ok(())
    }
}

pub(crate) fn put_i16(out: &mut Vec<u8>, v: i16) {
    out.extend_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}
/// A non-flexible string: int16 length, UTF-8. Longer strings are cut at a char boundary below
/// 32767 bytes (the schema's limit); callers bound ids and metadata well below that.
pub(crate) fn put_string(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(i16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    put_i16(out, end as i16);
    out.extend_from_slice(&s.as_bytes()[..end]);
}
pub(crate) fn put_nullable_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => put_i16(out, -1),
        Some(s) => put_string(out, s),
    }
}
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_i32(out, b.len() as i32);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_past_the_end_are_refused_before_allocating() {
        // A flexible array claiming 1,000 elements in 2 bytes.
        let mut r = Reader::new(&[0xe9, 0x07, 0x00]);
        let err = r.array_len(true, "members").unwrap_err();
        assert!(err.0.contains("members: 1000 elements cannot fit"), "{err}");
        let mut r = Reader::new(&[0x00, 0x05, b'a']);
        assert!(r.string(false, "group").unwrap_err().0.starts_with("group: needs 5 bytes"));
        let mut r = Reader::new(&[0xff; 11]);
        assert!(r.uvarint("tag").unwrap_err().0.contains("longer than 10 bytes"));
    }

    #[test]
    fn strings_round_trip_and_null_is_told_apart() {
        let mut out = Vec::new();
        put_string(&mut out, "grüße");
        put_nullable_string(&mut out, None);
        put_bytes(&mut out, b"xy");
        let mut r = Reader::new(&out);
        assert_eq!(r.string(false, "a").unwrap(), "grüße");
        assert_eq!(r.string_opt(false, "b").unwrap(), None);
        assert_eq!(&r.bytes(false, "c").unwrap()[..], b"xy");
        r.done("record").unwrap();
    }
}
