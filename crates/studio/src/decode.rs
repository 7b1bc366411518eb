//! Decoders and encoders for record keys, values and headers. A decoder failing on one record is
//! reported on that record (`decode_error`), never for the whole request.

use crate::error::{Error, Result};
use base64::Engine as _;

/// Bytes of one payload that go into a response, base64 and decoded; longer payloads are cut
/// (`truncated: true`) so that a page of 5,000 large records stays a bounded response.
pub const PAYLOAD_PREVIEW_BYTES_MAX: usize = 128 * 1024;

/// How to show bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decoder {
    /// UTF-8 text; invalid UTF-8 is a decode error.
    #[default]
    String,
    /// JSON, pretty-printed; invalid JSON is a decode error.
    Json,
    /// Lower-case hex.
    Hex,
    /// Big-endian signed integers of exactly 1, 2, 4 or 8 bytes.
    Int8,
    Int16,
    Int32,
    Int64,
    /// Big-endian IEEE 754 single (4 bytes) and double (8 bytes).
    Float,
    Double,
    /// Standard base64 with padding.
    Base64,
}

impl Decoder {
    pub fn parse(field: &str, text: &str) -> Result<Decoder> {
        Ok(match text {
            "string" | "utf8" => Decoder::String,
            "json" => Decoder::Json,
            "hex" => Decoder::Hex,
            "int8" => Decoder::Int8,
            "int16" => Decoder::Int16,
            "int32" => Decoder::Int32,
            "int64" => Decoder::Int64,
            "float" => Decoder::Float,
            "double" => Decoder::Double,
            "base64" => Decoder::Base64,
            other => {
                return Err(Error::bad_input(
                    field,
                    format!("unknown decoder {other:?}; use string, json, hex, int8, int16, int32, int64, float, double or base64"),
                ))
            }
        })
    }

    /// The bytes shown as text, or why they cannot be.
    pub fn decode(self, bytes: &[u8]) -> Result<String, String> {
        fn exact<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], String> {
            bytes.try_into().map_err(|_| format!("{what} needs exactly {N} bytes, got {}", bytes.len()))
        }
        match self {
            Decoder::String => {
                std::str::from_utf8(bytes).map(str::to_string).map_err(|error| format!("not valid UTF-8: {error}"))
            }
            Decoder::Json => {
                let value: serde_json::Value =
                    serde_json::from_slice(bytes).map_err(|error| format!("not valid JSON: {error}"))?;
                serde_json::to_string_pretty(&value).map_err(|error| format!("cannot print JSON: {error}"))
            }
            Decoder::Hex => Ok(hex(bytes)),
            Decoder::Int8 => Ok(i8::from_be_bytes(exact::<1>(bytes, "int8")?).to_string()),
            Decoder::Int16 => Ok(i16::from_be_bytes(exact::<2>(bytes, "int16")?).to_string()),
            Decoder::Int32 => Ok(i32::from_be_bytes(exact::<4>(bytes, "int32")?).to_string()),
            Decoder::Int64 => Ok(i64::from_be_bytes(exact::<8>(bytes, "int64")?).to_string()),
            Decoder::Float => Ok(f32::from_be_bytes(exact::<4>(bytes, "float")?).to_string()),
            Decoder::Double => Ok(f64::from_be_bytes(exact::<8>(bytes, "double")?).to_string()),
            Decoder::Base64 => Ok(base64::engine::general_purpose::STANDARD.encode(bytes)),
        }
    }
}

/// How text given by a user becomes bytes to produce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 bytes of the text.
    #[default]
    String,
    /// The text must be valid JSON; it is sent exactly as typed.
    Json,
    /// Hex digits (whitespace allowed between bytes).
    Hex,
    /// Standard or URL-safe base64.
    Base64,
}

impl Encoding {
    pub fn parse(field: &str, text: &str) -> Result<Encoding> {
        Ok(match text {
            "string" => Encoding::String,
            "json" => Encoding::Json,
            "hex" => Encoding::Hex,
            "base64" => Encoding::Base64,
            other => {
                return Err(Error::bad_input(
                    field,
                    format!("unknown encoding {other:?}; use string, json, hex or base64"),
                ))
            }
        })
    }

    /// The bytes `text` stands for; `field` names the input in the error.
    pub fn encode(self, field: &str, text: &str) -> Result<Vec<u8>> {
        match self {
            Encoding::String => Ok(text.as_bytes().to_vec()),
            Encoding::Json => {
                serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|error| Error::bad_input(field, format!("not valid JSON: {error}")))?;
                Ok(text.as_bytes().to_vec())
            }
            Encoding::Hex => unhex(text).map_err(|message| Error::bad_input(field, message)),
            Encoding::Base64 => {
                let trimmed = text.trim();
                base64::engine::general_purpose::STANDARD
                    .decode(trimmed)
                    .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(trimmed))
                    .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
                    .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
                    .map_err(|error| Error::bad_input(field, format!("not valid base64: {error}")))
            }
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    out
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    #[allow(clippy::manual_is_multiple_of)] // is_multiple_of needs Rust 1.87; the MSRV is 1.85
    if digits.len() % 2 != 0 {
        return Err(format!("hex needs an even number of digits, got {}", digits.len()));
    }
    let value = |digit: u8, position: usize| -> Result<u8, String> {
        match digit {
            b'0'..=b'9' => Ok(digit - b'0'),
            b'a'..=b'f' => Ok(digit - b'a' + 10),
            b'A'..=b'F' => Ok(digit - b'A' + 10),
            _ => Err(format!("not a hex digit at position {position}: {:?}", digit as char)),
        }
    };
    digits
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| Ok(value(pair[0], i * 2)? << 4 | value(pair[1], i * 2 + 1)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoders_show_bytes_or_say_why_not() {
        assert_eq!(Decoder::String.decode(b"hello"), Ok("hello".into()));
        assert!(Decoder::String.decode(&[0xff, 0xfe]).unwrap_err().contains("UTF-8"));
        assert_eq!(Decoder::Json.decode(br#"{"a":1}"#), Ok("{\n  \"a\": 1\n}".into()));
        assert!(Decoder::Json.decode(b"{nope").unwrap_err().contains("JSON"));
        assert_eq!(Decoder::Hex.decode(&[0x00, 0xab, 0x10]), Ok("00ab10".into()));
        assert_eq!(Decoder::Int8.decode(&[0xff]), Ok("-1".into()));
        assert_eq!(Decoder::Int16.decode(&[0x01, 0x00]), Ok("256".into()));
        assert_eq!(Decoder::Int32.decode(&[0xff, 0xff, 0xff, 0xfe]), Ok("-2".into()));
        assert_eq!(Decoder::Int64.decode(&42i64.to_be_bytes()), Ok("42".into()));
        assert!(Decoder::Int32.decode(&[1, 2]).unwrap_err().contains("exactly 4 bytes"));
        assert_eq!(Decoder::Float.decode(&1.5f32.to_be_bytes()), Ok("1.5".into()));
        assert_eq!(Decoder::Double.decode(&(-0.25f64).to_be_bytes()), Ok("-0.25".into()));
        assert_eq!(Decoder::Base64.decode(b"hi"), Ok("aGk=".into()));
    }

    #[test]
    fn encodings_turn_text_into_bytes_or_name_the_field() {
        assert_eq!(Encoding::Hex.encode("key", "00 ab FF").unwrap(), vec![0x00, 0xab, 0xff]);
        let error = Encoding::Hex.encode("key", "abc").unwrap_err();
        assert!(error.to_string().starts_with("key:"), "{error}");
        assert!(Encoding::Hex.encode("value", "zz").unwrap_err().to_string().contains("position 0"));
        assert_eq!(Encoding::Base64.encode("value", "aGk=").unwrap(), b"hi");
        assert_eq!(Encoding::Base64.encode("value", "aGk").unwrap(), b"hi");
        assert!(Encoding::Json.encode("value", "{").unwrap_err().to_string().starts_with("value:"));
        assert_eq!(Encoding::Json.encode("value", "[1, 2]").unwrap(), b"[1, 2]");
        assert!(Decoder::parse("key_decoder", "avro").unwrap_err().to_string().starts_with("key_decoder:"));
    }
}
