//! Helpers of the object judge ([`super::object`]): the keys of its set of
//! roles seen, and the base64 of ConfigMap and Secret data.

use std::hash::BuildHasher;

/// SipHash keys from the request's UID, which the API server chooses: a
/// tenant cannot write role values that collide in [`Walk::seen`]. A hash
/// rather than a sorted map: comparing values that share 32 bytes of
/// prefix byte by byte cost most of a 3 MB request's time in the `.wasm`.
#[derive(Clone, Copy)]
pub(super) struct UidKeys(pub(super) u64, pub(super) u64);

impl UidKeys {
    pub(super) fn of(uid: &str) -> UidKeys {
        // FNV-1a, from two starting points.
        let fnv = |start: u64| {
            uid.bytes().fold(start, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            })
        };
        UidKeys(fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142))
    }
}

impl BuildHasher for UidKeys {
    #[allow(deprecated)]
    type Hasher = std::hash::SipHasher;

    #[allow(deprecated)]
    fn build_hasher(&self) -> Self::Hasher {
        std::hash::SipHasher::new_with_keys(self.0, self.1)
    }
}

/// A `[]byte` field as Go's `encoding/json` reads it: standard base64 with
/// padding, ignoring `\r` and `\n`. `None` when it is not base64.
pub(super) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut bits, mut count, mut padding, mut ended) = (0u32, 0, 0, false);
    for b in text.bytes().filter(|b| !matches!(b, b'\r' | b'\n')) {
        let sextet = match b {
            _ if ended => return None,
            b'=' if count >= 2 => {
                padding += 1;
                0
            }
            _ if padding > 0 => return None,
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(sextet);
        count += 1;
        if count == 4 {
            let [_, x, y, z] = bits.to_be_bytes();
            match padding {
                0 => out.extend_from_slice(&[x, y, z]),
                1 => out.extend_from_slice(&[x, y]),
                _ => out.push(x),
            }
            ended = padding > 0;
            (bits, count) = (0, 0);
        }
    }
    (count == 0).then_some(out)
}
