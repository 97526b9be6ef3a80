#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtptls::fuzzing::ocsp_response(data));
