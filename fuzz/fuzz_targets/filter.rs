#![no_main]
//! See sts::fuzzing::filter.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sts::fuzzing::filter(data) {
        panic!("{e}");
    }
});
