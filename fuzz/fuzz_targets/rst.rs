#![no_main]
//! See sts::fuzzing::rst.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sts::fuzzing::rst(data) {
        panic!("{e}");
    }
});
