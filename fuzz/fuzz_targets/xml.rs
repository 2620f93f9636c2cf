#![no_main]
//! See sts::fuzzing::xml.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sts::fuzzing::xml(data) {
        panic!("{e}");
    }
});
