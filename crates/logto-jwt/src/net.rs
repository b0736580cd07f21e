//! Where plain `http://` is acceptable: the loopback interface.

use url::{Host, Url};

/// Whether `url`'s host is this machine's loopback interface: `localhost` (and `*.localhost`),
/// `127.0.0.0/8`, `::1` or an IPv4-mapped loopback address. Traffic to it never leaves the machine,
/// so plain `http://` there is fine for development; anywhere else tokens would travel in clear.
///
/// ```
/// use logto_jwt::is_loopback;
/// let url = |s: &str| url::Url::parse(s).unwrap();
/// assert!(is_loopback(&url("http://127.0.0.1:3001/oidc")));
/// assert!(is_loopback(&url("http://localhost:3000")));
/// assert!(!is_loopback(&url("http://logto.example.com")));
/// ```
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}
