#![no_main]
//! See sts::fuzzing::jwk.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sts::fuzzing::jwk(data) {
        panic!("{e}");
    }
});
