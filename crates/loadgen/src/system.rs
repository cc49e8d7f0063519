//! The machine side of a benchmark: the open-file limit, and the server's resident memory read
//! from `/proc` (with the server found by the port it listens on when no pid is given).

use std::fs;

/// Raises the soft `RLIMIT_NOFILE` to at least `needed` (up to the hard limit, or beyond it
/// when the process may raise that too); returns the soft limit in force afterwards.
pub(crate) fn raise_nofile(needed: u64) -> u64 {
    let nofile = rlimit::Resource::NOFILE;
    let Ok((soft, hard)) = nofile.get() else {
        return 0;
    };
    if soft >= needed {
        return soft;
    }
    if nofile.set(needed, hard.max(needed)).is_ok() {
        return needed;
    }
    // Not allowed past the hard limit: take what the hard limit allows.
    if nofile.set(hard, hard).is_ok() {
        hard
    } else {
        soft
    }
}

/// The `VmRSS` of process `pid`, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    parse_vm_rss_kib(&fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// This process's own `VmRSS`, in KiB.
pub(crate) fn own_rss_kib() -> Option<u64> {
    parse_vm_rss_kib(&fs::read_to_string("/proc/self/status").ok()?)
}

/// The `VmRSS:` line of a `/proc/<pid>/status` text, in KiB.
pub(crate) fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

/// The TCP port of a `ws://host:port/path` URL (80 or 443 when none is given).
pub(crate) fn url_port(url: &str) -> Option<u16> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    // A bracketed IPv6 host may contain colons: look for the port after the bracket.
    let after_host = match host_port.rfind(']') {
        Some(end) => &host_port[end + 1..],
        None => host_port,
    };
    match after_host.rsplit_once(':') {
        Some((_, port)) => port.parse().ok(),
        None => match scheme {
            "ws" | "http" => Some(80),
            "wss" | "https" => Some(443),
            _ => None,
        },
    }
}

/// The socket inodes listening on `port` in a `/proc/net/tcp` or `/proc/net/tcp6` text.
pub(crate) fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const TCP_LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let state = fields.get(3)?;
            let inode = fields.get(9)?;
            let (_, port_hex) = local.rsplit_once(':')?;
            let listening = *state == TCP_LISTEN && u16::from_str_radix(port_hex, 16).ok()? == port;
            if listening {
                inode.parse().ok()
            } else {
                None
            }
        })
        .collect()
}

/// The process that owns the socket listening on `port`, found through `/proc`.
pub(crate) fn find_pid_by_port(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = fs::read_to_string(table) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let targets: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = fs::read_link(fd.path()) {
                if targets.iter().any(|t| link.as_os_str() == t.as_str()) {
                    return Some(pid);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\texchange-sim\nVmPeak:\t  300000 kB\nVmHWM:\t  123456 kB\n\
                          VmRSS:\t   98304 kB\nRssAnon:\t   90000 kB\nThreads:\t3\n";

    #[test]
    fn vm_rss_is_read_from_status() {
        assert_eq!(parse_vm_rss_kib(STATUS), Some(98_304));
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn listening_socket_inodes_are_found_by_port() {
        // 8765 = 0x223D. The second line is an established connection on the same port.
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:223D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:223D 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1\n\
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 8765), vec![4242]);
        assert_eq!(listening_inodes(table, 22), vec![17]);
        assert!(listening_inodes(table, 80).is_empty());
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000000000000000000000000000:223D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(listening_inodes(v6, 8765), vec![5151]);
    }

    #[test]
    fn ports_are_read_from_urls() {
        assert_eq!(url_port("ws://127.0.0.1:8765/ws"), Some(8765));
        assert_eq!(url_port("ws://localhost/ws"), Some(80));
        assert_eq!(url_port("wss://example.test"), Some(443));
        assert_eq!(url_port("ws://[::1]:9000/"), Some(9000));
        assert_eq!(url_port("ws://[::1]/"), Some(80));
        assert_eq!(url_port("not a url"), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        assert!(own_rss_kib().is_some_and(|kib| kib > 0));
    }
}
