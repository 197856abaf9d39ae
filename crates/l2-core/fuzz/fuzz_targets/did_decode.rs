//! `did::decode` on arbitrary UTF-8 (DIDs arrive from peers and configuration).
//!
//! Properties: no panic; errors are `ERR_L2_BAD_INPUT`; a DID that decodes is canonical, i.e.
//! `did::encode` of the key gives back exactly the input; and any key round-trips.
#![no_main]

use l2_core::did;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        match did::decode(s) {
            Ok(key) => {
                assert_eq!(did::encode(&key), s, "a decodable did:key must be canonical");
                assert!(s.starts_with("did:key:z6Mk"));
            }
            Err(e) => assert_eq!(e.code(), "ERR_L2_BAD_INPUT", "{e:?}"),
        }
    }
    if let Some(key) = data.get(..32) {
        let key: [u8; 32] = key.try_into().unwrap();
        let name = did::encode(&key);
        assert_eq!(did::decode(&name), Ok(key));
    }
});
