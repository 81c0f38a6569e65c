//! Who the client of a request is: the peer address, or, only when the peer is a trusted proxy,
//! the first address in `X-Forwarded-For` (read from the right) that is not a trusted proxy. A
//! client cannot pick its own bucket by sending the header, because headers from untrusted peers
//! are ignored and the entries it wrote sit left of those the proxies appended.

use std::net::{IpAddr, SocketAddr};

use ipnet::{IpNet, Ipv6Net};

/// The proxies whose `X-Forwarded-For` is believed. Read from the settings as a list of IPs and
/// networks, so a bad entry is refused when they load.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct TrustedProxies(Vec<IpNet>);

impl TryFrom<Vec<String>> for TrustedProxies {
    type Error = String;

    fn try_from(entries: Vec<String>) -> Result<TrustedProxies, String> {
        TrustedProxies::parse(&entries)
    }
}

impl From<TrustedProxies> for Vec<String> {
    fn from(proxies: TrustedProxies) -> Vec<String> {
        proxies.0.iter().map(IpNet::to_string).collect()
    }
}

impl TrustedProxies {
    /// Reads IPs (`10.0.0.1`, `::1`) and networks (`10.0.0.0/8`).
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is neither an IP address nor a CIDR network"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&address))
    }
}

/// Turns a request's peer and forwarding header into the key of its bucket.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    trusted: TrustedProxies,
    ipv6_prefix_len: u8,
}

impl ClientIdentity {
    /// `ipv6_prefix_len` is at most 128 (the settings check it).
    pub fn new(trusted: TrustedProxies, ipv6_prefix_len: u8) -> ClientIdentity {
        ClientIdentity {
            trusted,
            ipv6_prefix_len,
        }
    }

    /// The client of a request from `peer` carrying the given `X-Forwarded-For` header values
    /// (one per header line, each a comma-separated list), grouped into its IPv6 network.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        self.group(self.originating_address(peer.to_canonical(), forwarded_for))
    }

    /// Walks the proxy chain from the nearest hop outwards while each hop is trusted. An entry
    /// that is not an address stops the walk at the last trusted hop: nothing left of it can be
    /// believed.
    fn originating_address(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let mut client = peer;
        let hops = forwarded_for
            .iter()
            .rev()
            .flat_map(|value| value.rsplit(','));
        for hop in hops {
            if !self.trusted.contains(client) {
                break;
            }
            match parse_hop(hop) {
                Some(address) => client = address,
                None => break,
            }
        }
        client
    }

    fn group(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V6(v6) => Ipv6Net::new(v6, self.ipv6_prefix_len)
                .map_or(address, |network| IpAddr::V6(network.network())),
            IpAddr::V4(_) => address,
        }
    }
}

/// `203.0.113.7`, `2001:db8::1`, and the forms with a port some proxies write
/// (`203.0.113.7:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(trusted: &[&str]) -> ClientIdentity {
        let entries: Vec<String> = trusted.iter().map(|entry| entry.to_string()).collect();
        ClientIdentity::new(TrustedProxies::parse(&entries).unwrap(), 64)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let clients = identity(&[]);
        assert_eq!(
            clients.client(ip("198.51.100.1"), &["203.0.113.7"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_in_the_header() {
        let clients = identity(&["10.0.0.0/8"]);
        assert_eq!(
            clients.client(ip("10.0.0.2"), &["203.0.113.7"]),
            ip("203.0.113.7")
        );
        assert_eq!(
            clients.client(ip("10.0.0.2"), &[]),
            ip("10.0.0.2"),
            "no header: the proxy itself is the client"
        );
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_wins_over_addresses_the_client_wrote() {
        let clients = identity(&["10.0.0.0/8", "192.0.2.1"]);
        let header = ["1.1.1.1, 203.0.113.7, 192.0.2.1", "10.1.2.3"];
        assert_eq!(clients.client(ip("10.0.0.2"), &header), ip("203.0.113.7"));
    }

    #[test]
    fn a_chain_of_only_trusted_hops_ends_at_the_last_one() {
        let clients = identity(&["10.0.0.0/8"]);
        assert_eq!(
            clients.client(ip("10.0.0.2"), &["10.9.9.9, 10.0.0.5"]),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn garbage_in_the_chain_stops_at_the_last_trusted_hop() {
        let clients = identity(&["10.0.0.0/8"]);
        assert_eq!(
            clients.client(ip("10.0.0.2"), &["203.0.113.7, unknown"]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn hops_with_ports_and_mapped_addresses_are_understood() {
        let clients = identity(&["127.0.0.1"]);
        assert_eq!(
            clients.client(ip("::ffff:127.0.0.1"), &["203.0.113.7:4711"]),
            ip("203.0.113.7")
        );
        assert_eq!(
            clients.client(ip("127.0.0.1"), &["[2001:db8::1]:80"]),
            ip("2001:db8::")
        );
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_network() {
        let clients = identity(&[]);
        assert_eq!(
            clients.client(ip("2001:db8:1:2:aaaa::1"), &[]),
            clients.client(ip("2001:db8:1:2:bbbb::2"), &[])
        );
        assert_ne!(
            clients.client(ip("2001:db8:1:2::1"), &[]),
            clients.client(ip("2001:db8:1:3::1"), &[])
        );
    }

    #[test]
    fn bad_trusted_proxy_entries_are_named() {
        let error = TrustedProxies::parse(&["10.0.0.0/8".into(), "proxy.local".into()]);
        assert!(error.unwrap_err().contains("\"proxy.local\""));
    }
}
