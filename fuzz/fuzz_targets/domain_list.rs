#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtptls::fuzzing::domain_list(data));
