//! Reading smtptls's JSON report: the look-ups most tests make, written
//! once. Needs nothing but serde_json, so that the interop suite, which
//! runs no lab servers, can include this file alone (`#[path]`).

use serde_json::Value;

/// The report of `domain` in a JSON run.
pub fn domain<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["domains"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["domain"] == name))
        .unwrap_or_else(|| panic!("no domain {name} in {report:#}"))
}

/// The first address row of the first MX of `domain`.
pub fn first_address<'a>(report: &'a Value, name: &str) -> &'a Value {
    &domain(report, name)["mx"][0]["addresses"][0]
}

/// `(severity, message)` of finding `id` in a findings-bearing object.
pub fn finding(obj: &Value, id: &str) -> Option<(String, String)> {
    obj["findings"]
        .as_array()?
        .iter()
        .find(|f| f["id"] == id)
        .map(|f| {
            (
                f["severity"].as_str().unwrap_or_default().to_string(),
                f["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

/// The severity of finding `id`, or "absent".
pub fn severity(obj: &Value, id: &str) -> String {
    finding(obj, id).map_or_else(|| "absent".to_string(), |(s, _)| s)
}

/// The NCSC-NL `level` of finding `id` (JSON null for findings without
/// one), or `None` if there is no such finding: the two differ.
pub fn level<'a>(obj: &'a Value, id: &str) -> Option<&'a Value> {
    obj["findings"]
        .as_array()?
        .iter()
        .find(|f| f["id"] == id)
        .map(|f| &f["level"])
}

/// A domain's delivery results: the opportunistic, the MTA-STS and the
/// DANE sender's, "-" where the report has none (a no-mail domain).
pub fn delivery(d: &Value) -> [String; 3] {
    let r = |k: &str| {
        d["delivery"][k]["result"]
            .as_str()
            .unwrap_or("-")
            .to_string()
    };
    [r("opportunistic"), r("mta_sts"), r("dane")]
}
