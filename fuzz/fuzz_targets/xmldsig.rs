#![no_main]
//! See sts::fuzzing::xmldsig.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sts::fuzzing::xmldsig(data) {
        panic!("{e}");
    }
});
