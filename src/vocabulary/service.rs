//! `--service`: which mail service is audited. Port 25 is where senders
//! deliver (MX hosts, the default); ports 587 and 465 are where mail
//! clients submit (RFC 6409, RFC 8314), graded by what a mail client
//! needs instead.

use std::fmt;
use std::str::FromStr;

/// The service audited at each host.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// Server-to-server mail on port 25: MX hosts, STARTTLS, DANE and
    /// MTA-STS.
    #[default]
    Smtp,
    /// Message submission with STARTTLS, port 587 (RFC 6409, RFC 3207).
    Submission,
    /// Message submission over implicit TLS, port 465 (RFC 8314 §3.3).
    Submissions,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Smtp, Service::Submission, Service::Submissions];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Smtp => "smtp",
            Service::Submission => "submission",
            Service::Submissions => "submissions",
        }
    }

    /// The port the service listens on unless an SRV record (or
    /// `--port`) says otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            Service::Smtp => 25,
            Service::Submission => 587,
            Service::Submissions => 465,
        }
    }

    /// The SRV owner label of the service (RFC 6186 §3), `None` for
    /// SMTP, whose hosts come from MX records.
    pub fn srv_label(self) -> Option<&'static str> {
        match self {
            Service::Smtp => None,
            Service::Submission => Some("_submission._tcp"),
            Service::Submissions => Some("_submissions._tcp"),
        }
    }

    /// TLS from the first byte (RFC 8314), not after STARTTLS.
    pub fn implicit_tls(self) -> bool {
        self == Service::Submissions
    }

    /// A mail client's service: graded by the submission rubric.
    pub fn is_submission(self) -> bool {
        self != Service::Smtp
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Service {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Service::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown service {s:?} (smtp, submission or submissions)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ports_and_srv_labels() {
        for s in Service::ALL {
            assert_eq!(s.as_str().parse::<Service>(), Ok(s));
            assert_eq!(crate::vocabulary::wire_name(&s), s.as_str());
        }
        assert_eq!(Service::Submission.default_port(), 587);
        assert_eq!(Service::Submissions.default_port(), 465);
        assert_eq!(Service::Smtp.srv_label(), None);
        assert_eq!(Service::Submissions.srv_label(), Some("_submissions._tcp"));
        assert!(Service::Submissions.implicit_tls() && !Service::Submission.implicit_tls());
        assert!("smtps".parse::<Service>().is_err());
    }
}
