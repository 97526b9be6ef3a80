//! An in-process HTTPS server for MTA-STS policies (in progress).
