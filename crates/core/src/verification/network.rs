//! Whether an officer signed in from a network seen before.
//!
//! A taken-over police account is used from the attacker's connection, not the station's. The
//! store keeps, per officer, the networks earlier sign-ins came from, as IP prefixes
//! (`198.51.100.0/24`), single addresses, or autonomous system numbers (`AS64500`); the sign-in
//! is described the same way. Any overlap counts as known: an officer on a new address from the
//! same provider is ordinary, a new provider is not.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Network {
    Asn(u32),
    Prefix(IpAddr, u8),
    Other(String),
}

fn parse(raw: &str) -> Network {
    let s = raw.trim().to_ascii_lowercase();
    let digits = s
        .strip_prefix("asn")
        .or_else(|| s.strip_prefix("as"))
        .map(str::trim);
    if let Some(n) = digits.and_then(|d| d.parse::<u32>().ok()) {
        return Network::Asn(n);
    }
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok()),
        None => (s.as_str(), None),
    };
    match addr.parse::<IpAddr>() {
        Ok(ip) => {
            // An IPv4 address written as IPv6 (`::ffff:198.51.100.7`) is the same address.
            let ip = ip.to_canonical();
            let max = if ip.is_ipv4() { 32 } else { 128 };
            match len {
                Some(l) if l <= max => Network::Prefix(ip, l),
                Some(_) => Network::Other(s),
                None => Network::Prefix(ip, max),
            }
        }
        Err(_) => Network::Other(s),
    }
}

fn within(ip: IpAddr, len: u8, net: IpAddr, net_len: u8) -> bool {
    if len < net_len {
        return false;
    }
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(net_len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(net_len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

fn matches(seen: &Network, known: &Network) -> bool {
    match (seen, known) {
        (Network::Asn(a), Network::Asn(b)) => a == b,
        (Network::Prefix(ip, len), Network::Prefix(net, net_len)) => {
            within(*ip, *len, *net, *net_len)
        }
        (Network::Other(a), Network::Other(b)) => a == b,
        _ => false,
    }
}

/// Whether any identifier of the sign-in's network matches any network the officer used before.
pub fn network_known<S: AsRef<str>, K: AsRef<str>>(sign_in: &[S], known: &[K]) -> bool {
    let known: Vec<Network> = known.iter().map(|k| parse(k.as_ref())).collect();
    sign_in
        .iter()
        .map(|s| parse(s.as_ref()))
        .any(|s| known.iter().any(|k| matches(&s, k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_prefixes_and_asns_are_compared() {
        let known = ["198.51.100.0/24", "AS64500", "2001:db8:10::/48"];
        assert!(network_known(&["198.51.100.77"], &known));
        assert!(network_known(&["198.51.100.0/25"], &known));
        assert!(network_known(&["::ffff:198.51.100.9"], &known));
        assert!(network_known(&["203.0.113.5", "as64500"], &known));
        assert!(network_known(&["2001:db8:10:ffff::1"], &known));
        assert!(!network_known(&["198.51.101.1"], &known));
        assert!(
            !network_known(&["198.51.0.0/16"], &known),
            "wider than what was seen"
        );
        assert!(!network_known(&["AS64511"], &known));
        assert!(!network_known(&["2001:db8:11::1"], &known));
        assert!(!network_known::<&str, &str>(&[], &known));
        assert!(network_known(&["0.0.0.0/0"], &["0.0.0.0/0"]));
        assert!(!network_known(&["garbage"], &known));
    }
}
