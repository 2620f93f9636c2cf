#![no_main]
//! See sts::fuzzing::soap.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sts::fuzzing::soap(data) {
        panic!("{e}");
    }
});
