#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtptls::fuzzing::tls_rpt_report(data));
