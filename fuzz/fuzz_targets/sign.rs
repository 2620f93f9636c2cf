#![no_main]
//! See sts::tokens::differential::fuzz: an assertion with generated content, signed as
//! written; the digested bytes must equal libxml2's exclusive C14N and the signature verify.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sts::fuzzing::run("sign", data) {
        panic!("{e}");
    }
});
