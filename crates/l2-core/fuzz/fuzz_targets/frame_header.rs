//! `frame::Header::decode` on arbitrary bytes.
//!
//! Properties: decode succeeds exactly for well-formed headers (version 1, a type that
//! `FrameType::try_from` knows, length at most `MAX_PAYLOAD`); when it does, encoding the
//! header gives back the input's first 16 bytes; and every encodable header decodes to itself.
#![no_main]

use l2_core::frame::{Header, FRAME_VERSION, HEADER_LEN, MAX_PAYLOAD, OVERHEAD};
use l2_core_fuzz::frame_types;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let well_formed = data.len() >= HEADER_LEN
        && data[0] == FRAME_VERSION
        && frame_types().iter().any(|&t| t as u8 == data[1])
        && u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize <= MAX_PAYLOAD;
    match Header::decode(data) {
        Ok(h) => {
            assert!(well_formed, "accepted a malformed header");
            assert_eq!(h.encode()[..], data[..HEADER_LEN], "decode/encode round trip");
            assert_eq!(Header::decode(&h.encode()), Ok(h));
            assert!(h.len as usize <= MAX_PAYLOAD);
            assert_eq!(h.wire_len(), OVERHEAD + h.len as usize);
            assert_eq!(h.nonce()[..4], [0; 4]);
            assert_eq!(h.nonce()[4..], data[8..16]);
        }
        Err(e) => {
            assert!(!well_formed, "rejected a well-formed header: {e:?}");
            let want = if data.len() >= HEADER_LEN && data[0] != FRAME_VERSION { "ERR_L2_UNSUPPORTED" } else { "ERR_L2_BAD_INPUT" };
            assert_eq!(e.code(), want, "{e:?}");
        }
    }

    // The other direction: any header with in-range fields survives encode then decode.
    if data.len() >= 15 {
        let types = frame_types();
        let h = Header {
            frame_type: types[data[0] as usize % types.len()],
            epoch: u16::from_be_bytes([data[1], data[2]]),
            len: u32::from_be_bytes(data[3..7].try_into().unwrap()) % (MAX_PAYLOAD as u32 + 1),
            counter: u64::from_be_bytes(data[7..15].try_into().unwrap()),
        };
        let mut wire = h.encode().to_vec();
        wire.extend_from_slice(&data[15..]);
        assert_eq!(Header::decode(&wire), Ok(h));
    }
});
