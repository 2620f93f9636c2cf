#![no_main]
//! See sts::fuzzing::jws.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sts::fuzzing::jws(data) {
        panic!("{e}");
    }
});
