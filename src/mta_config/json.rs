//! [`DomainFacts`] from a domain object of a JSON report (an NDJSON line,
//! or an element of `domains`), with the same rules as
//! [`DomainFacts::from_report`]. Errors name the field and its path, e.g.
//! `mx[0].addresses[1]: missing field "dane"`.

use serde_json::{Map, Value};

use super::{AddressFacts, DomainFacts, MxFacts};

/// A JSON object and where it is, for error messages.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, path: String) -> Result<Self, String> {
        match v.as_object() {
            Some(map) => Ok(Obj { map, path }),
            None if path.is_empty() => Err("not a JSON object".to_string()),
            None => Err(format!("{path}: not a JSON object")),
        }
    }

    fn at(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn err(&self, what: String) -> String {
        if self.path.is_empty() {
            what
        } else {
            format!("{}: {what}", self.path)
        }
    }

    fn field(&self, name: &str) -> Result<&'a Value, String> {
        self.map
            .get(name)
            .ok_or_else(|| self.err(format!("missing field \"{name}\"")))
    }

    fn str(&self, name: &str) -> Result<&'a str, String> {
        self.field(name)?
            .as_str()
            .ok_or_else(|| self.err(format!("field \"{name}\" is not a string")))
    }

    fn bool(&self, name: &str) -> Result<bool, String> {
        self.field(name)?
            .as_bool()
            .ok_or_else(|| self.err(format!("field \"{name}\" is not true or false")))
    }

    /// A field that must be present and may be null.
    fn nullable(&self, name: &str) -> Result<Option<Obj<'a>>, String> {
        match self.field(name)? {
            Value::Null => Ok(None),
            v => Obj::new(v, self.at(name)).map(Some),
        }
    }

    fn objects(&self, name: &str) -> Result<Vec<Obj<'a>>, String> {
        let items = self
            .field(name)?
            .as_array()
            .ok_or_else(|| self.err(format!("field \"{name}\" is not an array")))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| Obj::new(v, format!("{}[{i}]", self.at(name))))
            .collect()
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, String> {
        let items = self
            .field(name)?
            .as_array()
            .ok_or_else(|| self.err(format!("field \"{name}\" is not an array")))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{}[{i}]: not a string", self.at(name)))
            })
            .collect()
    }
}

fn address(a: &Obj) -> Result<AddressFacts, String> {
    let error = a.nullable("error")?;
    let reachable = match &error {
        None => true,
        Some(e) => {
            let phase = e.str("phase")?;
            // The same rule as `AddressReport::reachable`, on the JSON name.
            let phase: crate::report::ErrorPhase =
                serde_json::from_value(serde_json::Value::from(phase))
                    .map_err(|_| format!("{}: unknown error phase {phase:?}", e.at("phase")))?;
            !phase.before_smtp()
        }
    };
    // `legacy_tls` came with the protocol scan: a report written before it
    // has no such field, and then no legacy TLS was recognised.
    let legacy_tls = match a.map.get("legacy_tls") {
        None => false,
        Some(_) => a.bool("legacy_tls")?,
    };
    let tls = a.nullable("tls")?.is_some() && error.is_none();
    let cert = a.nullable("certificate")?;
    let (chain_valid, hostname_match, cert_names) = match &cert {
        Some(c) => (
            c.bool("chain_valid")?,
            c.bool("hostname_match")?,
            c.strings("subject_alt_names")?,
        ),
        None => (false, false, Vec::new()),
    };
    Ok(AddressFacts {
        ip: a.str("ip")?.to_string(),
        reachable,
        tls: tls || legacy_tls,
        legacy_tls,
        chain_valid,
        hostname_match,
        dane: a.str("dane")?.to_string(),
        cert_names,
    })
}

fn mx(m: &Obj) -> Result<MxFacts, String> {
    let tlsa_found = match m.nullable("tlsa")? {
        Some(t) => t.str("status")? == "found",
        None => false,
    };
    Ok(MxFacts {
        host: m.str("host")?.to_string(),
        tlsa_found,
        addresses: m
            .objects("addresses")?
            .iter()
            .map(address)
            .collect::<Result<_, _>>()?,
    })
}

pub(super) fn domain(v: &Value) -> Result<DomainFacts, String> {
    let d = Obj::new(v, String::new())?;
    let name = d.str("domain")?;
    let facts = || -> Result<DomainFacts, String> {
        let tls_rpt_rua = match d.nullable("tls_rpt")? {
            Some(t) if t.str("record")? == "valid" => t.strings("rua")?,
            _ => Vec::new(),
        };
        Ok(DomainFacts {
            domain: name.to_string(),
            verdict: d.str("verdict")?.to_string(),
            mx: d.objects("mx")?.iter().map(mx).collect::<Result<_, _>>()?,
            error: d
                .nullable("error")?
                .map(|e| e.str("message"))
                .transpose()?
                .map(str::to_string),
            mx_dnssec_secure: d.str("dnssec")? == "secure",
            tls_rpt_rua,
        })
    };
    facts().map_err(|e| format!("{}: {e}", super::printable(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mta_config::{PolicyLevel, choose};
    use crate::prober::Timings;
    use crate::report::*;
    use crate::vocabulary::Verdict;

    fn address(ip: &str) -> AddressReport {
        AddressReport {
            ip: ip.parse().expect("IP"),
            port: 25,
            starttls: true,
            banner: Some("220 mx ESMTP".into()),
            extensions: vec!["STARTTLS".into()],
            extensions_after_tls: Some(Vec::new()),
            tls: Some(TlsReport {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_256_GCM_SHA384".into(),
                key_exchange_group: Some("X25519".into()),
                ocsp_stapled: false,
                signature_verified: true,
            }),
            certificate: Some(CertificateReport {
                subject: "CN=mx1.r.example".into(),
                issuer: "CN=Lab CA".into(),
                subject_alt_names: vec!["mx1.r.example".into()],
                serial: "01".into(),
                not_before: "2025-01-01T00:00:00Z".into(),
                not_after: "2030-01-01T00:00:00Z".into(),
                days_left: 1000,
                key: KeyInfo {
                    kind: "EC".into(),
                    bits: 256,
                    curve: Some("P-256".into()),
                },
                signature_algorithm: "ecdsa-with-SHA256".into(),
                sha256: "00".repeat(32),
                spki_sha256: "11".repeat(32),
                chain_length: 2,
                chain_valid: true,
                chain_error: None,
                hostname_match: true,
            }),
            dane: DaneResult::Valid,
            post_quantum: Some(false),
            scan: None,
            starttls_injection: None,
            legacy_tls: false,
            legacy_session: None,
            configuration: None,
            error: None,
            findings: Vec::new(),
            timings_ms: Timings::default(),
        }
    }

    /// Two MX hosts with signed TLSA records, DANE-valid; a third address
    /// refused the connection; a fourth failed the handshake.
    fn report() -> DomainReport {
        let mut refused = address("192.0.2.3");
        refused.tls = None;
        refused.certificate = None;
        refused.dane = DaneResult::Mismatch;
        refused.error = Some(Failure {
            phase: ErrorPhase::Connect,
            kind: ErrorKind::ConnectionRefused,
            message: "connection refused".into(),
        });
        let tlsa = || TlsaReport {
            status: crate::protection::TlsaStatus::Found,
            dnssec: Dnssec::Secure,
            records: vec!["3 1 1 00".into()],
        };
        let host = |name: &str, addresses| MxReport {
            host: name.to_string(),
            preference: 10,
            cname: None,
            dnssec: Dnssec::Secure,
            tlsa: Some(tlsa()),
            mta_sts_match: None,
            post_quantum: None,
            addresses,
            findings: Vec::new(),
            error: None,
        };
        DomainReport {
            verdict: Verdict::Protected,
            verdict_reason: "DANE".into(),
            mx_source: MxSource::Mx,
            dnssec: Dnssec::Secure,
            mx: vec![
                host("mx1.r.example", vec![address("192.0.2.1"), refused]),
                host("mx2.r.example", vec![address("2001:db8::2")]),
            ],
            tls_rpt: Some(TlsRptReport {
                record: crate::protection::RecordState::Valid,
                rua: vec!["mailto:tls@r.example".into()],
            }),
            ..DomainReport::empty("r.example")
        }
    }

    #[test]
    fn from_report_and_from_json_agree() {
        let r = report();
        let facts = DomainFacts::from_report(&r);
        assert_eq!(facts.domain, "r.example");
        assert_eq!(facts.verdict, "protected");
        assert!(facts.mx_dnssec_secure);
        assert_eq!(facts.tls_rpt_rua, ["mailto:tls@r.example"]);
        assert!(facts.mx.iter().all(|m| m.tlsa_found));
        let a = &facts.mx[0].addresses;
        assert!(a[0].reachable && a[0].tls && a[0].chain_valid && a[0].hostname_match);
        assert_eq!(a[0].dane, "valid");
        assert_eq!(a[0].cert_names, ["mx1.r.example"]);
        assert!(!a[1].reachable && !a[1].tls);
        assert_eq!(a[1].dane, "mismatch");
        assert_eq!(facts.mx[1].addresses[0].ip, "2001:db8::2");
        assert_eq!(choose(&facts).level, PolicyLevel::DaneOnly);

        let json = serde_json::to_value(&r).expect("serialize");
        assert_eq!(DomainFacts::from_json(&json), Ok(facts));
    }

    #[test]
    fn a_failed_handshake_is_reachable_without_tls() {
        let mut r = report();
        r.mx[1].addresses[0].error = Some(Failure {
            phase: ErrorPhase::TlsHandshake,
            kind: crate::vocabulary::ErrorKind::Tls,
            message: "handshake failure".into(),
        });
        let facts = DomainFacts::from_report(&r);
        let a = &facts.mx[1].addresses[0];
        assert!(a.reachable && !a.tls);
        assert_eq!(choose(&facts).level, PolicyLevel::May);
        let json = serde_json::to_value(&r).expect("serialize");
        assert_eq!(DomainFacts::from_json(&json), Ok(facts));
    }

    #[test]
    fn failed_and_null_mx_domains() {
        let nx = DomainReport::failed(
            "nx.example",
            Failure {
                phase: ErrorPhase::Dns,
                kind: ErrorKind::Nxdomain,
                message: "nx.example does not exist (NXDOMAIN)".into(),
            },
        );
        let facts = DomainFacts::from_report(&nx);
        assert_eq!(
            facts.error.as_deref(),
            Some("nx.example does not exist (NXDOMAIN)")
        );
        assert!(facts.tls_rpt_rua.is_empty());
        let json = serde_json::to_value(&nx).expect("serialize");
        assert_eq!(DomainFacts::from_json(&json), Ok(facts.clone()));
        assert_eq!(choose(&facts).level, PolicyLevel::May);
    }

    #[test]
    fn missing_or_mistyped_fields_are_named() {
        let good = serde_json::to_value(report()).expect("serialize");

        let mut v = good.clone();
        v["mx"][0]["addresses"][1]
            .as_object_mut()
            .expect("object")
            .remove("dane");
        assert_eq!(
            DomainFacts::from_json(&v),
            Err("r.example: mx[0].addresses[1]: missing field \"dane\"".into())
        );

        let mut v = good.clone();
        v.as_object_mut().expect("object").remove("mx");
        assert_eq!(
            DomainFacts::from_json(&v),
            Err("r.example: missing field \"mx\"".into())
        );

        let mut v = good.clone();
        v.as_object_mut().expect("object").remove("domain");
        assert_eq!(
            DomainFacts::from_json(&v),
            Err("missing field \"domain\"".into())
        );

        let mut v = good.clone();
        v["mx"][1]["addresses"][0]["certificate"]["chain_valid"] = "yes".into();
        assert_eq!(
            DomainFacts::from_json(&v),
            Err(
                "r.example: mx[1].addresses[0].certificate: field \"chain_valid\" is not true or false"
                    .into()
            )
        );

        assert_eq!(
            DomainFacts::from_json(&serde_json::json!([1])),
            Err("not a JSON object".into())
        );
    }
}
