//! The grading rubric: from what each MX address showed to one verdict per
//! domain. This is the only place the rubric lives; `docs/grading.md`
//! explains it and must change with it.

use super::assessment::AddressGrade;
use crate::vocabulary::Verdict;

/// The rubric. `grades` holds every probed address of every MX.
pub fn domain_verdict(grades: &[AddressGrade]) -> (Verdict, String) {
    let count = |g| grades.iter().filter(|&&x| x == g).count();
    let unreachable = count(AddressGrade::Unreachable);
    let no_tls = count(AddressGrade::NoTls);
    let unauth = count(AddressGrade::Unauthenticated);
    let legacy = count(AddressGrade::LegacyTls);
    let weak = count(AddressGrade::Weak);
    let reachable = grades.len() - unreachable;
    let skipped = if unreachable > 0 {
        format!(" ({unreachable} unreachable MX address(es) or host(s) not graded)")
    } else {
        String::new()
    };
    if grades.is_empty() {
        return (Verdict::Error, "no MX address to probe".into());
    }
    if reachable == 0 {
        return (Verdict::Error, "no MX address could be reached".into());
    }
    if no_tls == reachable {
        return (
            Verdict::Plaintext,
            format!("no reachable MX address has working STARTTLS{skipped}"),
        );
    }
    if no_tls > 0 {
        return (
            Verdict::Partial,
            format!(
                "{no_tls} of {reachable} reachable MX addresses have no working STARTTLS{skipped}"
            ),
        );
    }
    if unauth > 0 || legacy > 0 {
        let mut but = Vec::new();
        if legacy > 0 {
            but.push(format!(
                "{legacy} of {reachable} addresses encrypt only with legacy TLS (versions or suites a TLS 1.2/1.3 client with modern suites does not use)"
            ));
        }
        if unauth > 0 {
            but.push(format!(
                "{unauth} of {reachable} certificates cannot be authenticated"
            ));
        }
        return (
            Verdict::Encrypted,
            format!("STARTTLS everywhere, but {}{skipped}", but.join("; ")),
        );
    }
    if weak > 0 {
        return (
            Verdict::Encrypted,
            format!(
                "STARTTLS with valid certificates everywhere, but {weak} of {reachable} addresses run commands injected before TLS (STARTTLS command injection){skipped}"
            ),
        );
    }
    (
        Verdict::Secure,
        format!(
            "STARTTLS with a valid, matching certificate on every reachable MX address{skipped}"
        ),
    )
}

/// The rubric of a submission service (`--service submission|submissions`),
/// by what a mail client gets: `secure` when every reachable host gives a
/// TLS ≥ 1.2 session with a certificate valid for the host name and does
/// not invite a login before TLS; `encrypted` when TLS works everywhere
/// but a certificate fails (a client refuses it or asks its user) or AUTH
/// comes before TLS (`Weak`); `partial` and `plaintext` when hosts give no
/// TLS at all. DANE and MTA-STS have no part: clients do not use them, so
/// there is no `protected` and no `broken`.
pub fn service_verdict(
    grades: &[AddressGrade],
    service: crate::vocabulary::Service,
) -> (Verdict, String) {
    let count = |g| grades.iter().filter(|&&x| x == g).count();
    let unreachable = count(AddressGrade::Unreachable);
    let no_tls = count(AddressGrade::NoTls) + count(AddressGrade::LegacyTls);
    let unauth = count(AddressGrade::Unauthenticated);
    let weak = count(AddressGrade::Weak);
    let reachable = grades.len() - unreachable;
    let tls = if service.implicit_tls() {
        "implicit TLS"
    } else {
        "STARTTLS"
    };
    let skipped = if unreachable > 0 {
        format!(" ({unreachable} unreachable {service} address(es) not graded)")
    } else {
        String::new()
    };
    if grades.is_empty() {
        return (Verdict::Error, format!("no {service} address to probe"));
    }
    if reachable == 0 {
        return (
            Verdict::Error,
            format!("no {service} address could be reached"),
        );
    }
    if no_tls == reachable {
        return (
            Verdict::Plaintext,
            format!("no reachable {service} address gives a mail client a TLS session{skipped}"),
        );
    }
    if no_tls > 0 {
        return (
            Verdict::Partial,
            format!(
                "{no_tls} of {reachable} reachable {service} addresses give a mail client no TLS session{skipped}"
            ),
        );
    }
    if unauth > 0 || weak > 0 {
        let mut but = Vec::new();
        if unauth > 0 {
            but.push(format!(
                "{unauth} of {reachable} certificates do not validate for the host name a client asks for"
            ));
        }
        if weak > 0 {
            but.push(format!(
                "{weak} of {reachable} addresses are unsafe before TLS (AUTH advertised before STARTTLS, or commands injected before TLS run inside it)"
            ));
        }
        return (
            Verdict::Encrypted,
            format!("{tls} everywhere, but {}{skipped}", but.join("; ")),
        );
    }
    (
        Verdict::Secure,
        format!(
            "{tls} with a certificate valid for the host name on every reachable {service} address, AUTH only inside TLS{skipped}"
        ),
    )
}

/// The policy layer of the rubric, on top of [`domain_verdict`]: a policy
/// that makes an enforcing sender defer is `broken` (mail is being lost,
/// whatever the encryption looks like); a `secure` domain whose every
/// reachable address is covered by DANE or MTA-STS enforce is `protected`.
pub fn with_policies(
    base: (Verdict, String),
    delivery: &super::assessment::Delivery,
    fully_protected: bool,
) -> (Verdict, String) {
    use super::assessment::DeliveryResult::Deferred;
    let (verdict, reason) = base;
    // Nothing reachable is an error, not a policy problem.
    if verdict == Verdict::Error {
        return (verdict, reason);
    }
    if delivery.dane.result == Deferred {
        return (
            Verdict::Broken,
            format!(
                "DANE-enforcing senders defer mail: {}",
                delivery.dane.reason
            ),
        );
    }
    if delivery.mta_sts.result == Deferred {
        return (
            Verdict::Broken,
            format!(
                "MTA-STS-enforcing senders defer mail: {}",
                delivery.mta_sts.reason
            ),
        );
    }
    if verdict == Verdict::Secure && fully_protected {
        return (
            Verdict::Protected,
            format!(
                "{reason}; DANE or MTA-STS enforce protects every MX address against downgrade"
            ),
        );
    }
    (verdict, reason)
}

#[cfg(test)]
mod tests {
    use super::AddressGrade::*;
    use super::*;

    /// The client rubric: certificates and AUTH before TLS cap at
    /// encrypted; no TLS is plaintext or partial; never protected.
    #[test]
    fn service_rubric() {
        use crate::vocabulary::Service::{Submission, Submissions};
        let v = |g: &[AddressGrade]| service_verdict(g, Submission).0;
        assert_eq!(v(&[]), Verdict::Error);
        assert_eq!(v(&[Unreachable]), Verdict::Error);
        assert_eq!(v(&[Authenticated, Unreachable]), Verdict::Secure);
        assert_eq!(v(&[Weak]), Verdict::Encrypted);
        assert_eq!(v(&[Unauthenticated, Authenticated]), Verdict::Encrypted);
        assert_eq!(v(&[LegacyTls, Authenticated]), Verdict::Partial);
        assert_eq!(v(&[NoTls, LegacyTls]), Verdict::Plaintext);
        let (verdict, reason) = service_verdict(&[Weak], Submission);
        assert!(
            reason.contains("AUTH advertised before STARTTLS"),
            "{verdict}: {reason}"
        );
        let (_, reason) = service_verdict(&[Authenticated], Submissions);
        assert!(reason.starts_with("implicit TLS"), "{reason}");
    }

    #[test]
    fn rubric() {
        assert_eq!(domain_verdict(&[]).0, Verdict::Error);
        assert_eq!(
            domain_verdict(&[Unreachable, Unreachable]).0,
            Verdict::Error
        );
        assert_eq!(domain_verdict(&[NoTls, Unreachable]).0, Verdict::Plaintext);
        assert_eq!(domain_verdict(&[NoTls, Authenticated]).0, Verdict::Partial);
        assert_eq!(
            domain_verdict(&[Unauthenticated, Authenticated]).0,
            Verdict::Encrypted
        );
        assert_eq!(
            domain_verdict(&[Authenticated, Authenticated]).0,
            Verdict::Secure
        );
        let (v, why) = domain_verdict(&[Weak, Authenticated]);
        assert_eq!(v, Verdict::Encrypted);
        assert!(why.contains("STARTTLS command injection"), "{why}");
        assert_eq!(
            domain_verdict(&[Weak, Unauthenticated]).0,
            Verdict::Encrypted
        );
        let (v, why) = domain_verdict(&[Authenticated, Unreachable]);
        assert_eq!(v, Verdict::Secure);
        assert!(why.contains("1 unreachable"));
        // Legacy TLS only: encrypted, and the reason says why.
        let (v, why) = domain_verdict(&[LegacyTls]);
        assert_eq!(v, Verdict::Encrypted);
        assert_eq!(
            why,
            "STARTTLS everywhere, but 1 of 1 addresses encrypt only with legacy TLS (versions or suites a TLS 1.2/1.3 client with modern suites does not use)"
        );
        let (_, why) = domain_verdict(&[LegacyTls, Unauthenticated]);
        assert!(
            why.ends_with("; 1 of 2 certificates cannot be authenticated"),
            "{why}"
        );
        assert_eq!(domain_verdict(&[LegacyTls, NoTls]).0, Verdict::Partial);
    }

    /// Rules 1–7 of `docs/grading.md` in order, with their reasons: each
    /// case would fall to a later rule if its rule were dropped.
    #[test]
    fn domain_verdict_rules_in_order() {
        let cases: &[(&str, &[AddressGrade], Verdict, &str)] = &[
            (
                "1. nothing to probe",
                &[],
                Verdict::Error,
                "no MX address to probe",
            ),
            (
                "2. every address unreachable",
                &[Unreachable, Unreachable],
                Verdict::Error,
                "no MX address could be reached",
            ),
            (
                "3. every reachable address NoTls",
                &[NoTls, NoTls, Unreachable],
                Verdict::Plaintext,
                "no reachable MX address has working STARTTLS (1 unreachable MX address(es) or host(s) not graded)",
            ),
            (
                "4. some reachable address NoTls, before Unauthenticated and Weak",
                &[NoTls, Unauthenticated, Weak, Authenticated],
                Verdict::Partial,
                "1 of 4 reachable MX addresses have no working STARTTLS",
            ),
            (
                "5. some Unauthenticated, before Weak",
                &[Unauthenticated, Weak, Authenticated],
                Verdict::Encrypted,
                "STARTTLS everywhere, but 1 of 3 certificates cannot be authenticated",
            ),
            (
                "5. LegacyTls counts like Unauthenticated",
                &[LegacyTls, Authenticated],
                Verdict::Encrypted,
                "STARTTLS everywhere, but 1 of 2 addresses encrypt only with legacy TLS",
            ),
            (
                "6. some Weak",
                &[Weak, Authenticated, Unreachable],
                Verdict::Encrypted,
                "STARTTLS with valid certificates everywhere, but 1 of 2 addresses run commands injected before TLS (STARTTLS command injection) (1 unreachable",
            ),
            (
                "7. otherwise secure",
                &[Authenticated, Authenticated],
                Verdict::Secure,
                "STARTTLS with a valid, matching certificate on every reachable MX address",
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(name, grades, verdict, reason)| {
                let (v, why) = domain_verdict(grades);
                (v != *verdict || !why.starts_with(reason))
                    .then(|| format!("{name}: {v:?} {why:?}, expected {verdict:?} {reason:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    }

    /// Rules 8–12: the policy layer over a base verdict.
    #[test]
    fn with_policies_rules_in_order() {
        use crate::inspector::assessment::{Delivery, DeliveryResult, Outcome};
        use DeliveryResult::*;
        let o = |result, reason: &str| Outcome {
            result,
            reason: reason.into(),
        };
        let delivery = |sts, dane| Delivery {
            opportunistic: o(Secure, "opportunistic"),
            mta_sts: o(sts, "sts why"),
            dane: o(dane, "dane why"),
        };
        let cases = [
            (
                "8. error stays error",
                Verdict::Error,
                Deferred,
                Deferred,
                true,
                Verdict::Error,
                "base",
            ),
            (
                "9. DANE defers: broken, whatever the base",
                Verdict::Plaintext,
                NotApplicable,
                Deferred,
                false,
                Verdict::Broken,
                "DANE-enforcing senders defer mail: dane why",
            ),
            (
                "9. both defer: the reason names DANE",
                Verdict::Secure,
                Deferred,
                Deferred,
                true,
                Verdict::Broken,
                "DANE-enforcing senders defer mail: dane why",
            ),
            (
                "10. MTA-STS defers: broken",
                Verdict::Encrypted,
                Deferred,
                Secure,
                false,
                Verdict::Broken,
                "MTA-STS-enforcing senders defer mail: sts why",
            ),
            (
                "11. secure and fully protected: protected",
                Verdict::Secure,
                Secure,
                NotApplicable,
                true,
                Verdict::Protected,
                "base; DANE or MTA-STS enforce protects every MX address against downgrade",
            ),
            (
                "11. never on top of encrypted",
                Verdict::Encrypted,
                Secure,
                Secure,
                true,
                Verdict::Encrypted,
                "base",
            ),
            (
                "12. secure, not fully protected",
                Verdict::Secure,
                Secure,
                Secure,
                false,
                Verdict::Secure,
                "base",
            ),
            (
                "12. clear text is not deferral",
                Verdict::Partial,
                Cleartext,
                Cleartext,
                false,
                Verdict::Partial,
                "base",
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(name, base, sts, dane, protected, verdict, reason)| {
                let (v, why) =
                    with_policies((*base, "base".into()), &delivery(*sts, *dane), *protected);
                (v != *verdict || why != *reason)
                    .then(|| format!("{name}: {v:?} {why:?}, expected {verdict:?} {reason:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    }
}
