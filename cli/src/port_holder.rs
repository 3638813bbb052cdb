//! Who holds a port that a playground wants.
//!
//! Both playgrounds listen on 127.0.0.1:8080 and 8081 by default, so the
//! usual clash is the other playground. The kernel's socket table says which
//! program listens (Linux: `/proc/net/tcp*`, then the process whose open
//! files hold that socket); when that cannot be read (another user's
//! process, another system), the port is asked whether it is one of ours.

use std::fs;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// What holds the port, as far as can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// `docker-proxy`: a published container port, so the compose playground.
    Docker,
    /// Another `chaosctl` (another `chaosctl up`).
    Chaosctl {
        pid: u32,
    },
    /// Some other program.
    Program {
        name: String,
        pid: u32,
    },
    /// Not known; the port answers like one of the platform's servers.
    PlatformServer,
    Unknown,
}

impl Holder {
    pub fn of(host: IpAddr, port: u16) -> Holder {
        if let Some((name, pid)) = listening_process(port) {
            return match name.as_str() {
                "docker-proxy" => Holder::Docker,
                "chaosctl" => Holder::Chaosctl { pid },
                _ => Holder::Program { name, pid },
            };
        }
        let host = if host.is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            host
        };
        if answers_healthz(SocketAddr::new(host, port)) {
            Holder::PlatformServer
        } else {
            Holder::Unknown
        }
    }

    /// A sentence for the error: who it is and what to do about it.
    pub fn advice(&self) -> String {
        match self {
            Holder::Docker => "it is published by Docker: the compose playground is probably up \
                (`docker compose ps`; stop it with `docker compose down`)"
                .into(),
            Holder::Chaosctl { pid } => {
                format!("another `chaosctl up` holds it (pid {pid}); stop it with Ctrl-C")
            }
            Holder::Program { name, pid } => format!("{name} (pid {pid}) holds it"),
            Holder::PlatformServer => "a server of this platform answers there: the compose \
                playground or another `chaosctl up`"
                .into(),
            Holder::Unknown => "another program holds it (`ss -ltnp` names it)".into(),
        }
    }
}

/// The process listening on `port` over TCP, by the kernel's tables.
fn listening_process(port: u16) -> Option<(String, u32)> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for proc_entry in fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = proc_entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = fs::read_dir(proc_entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
        });
        if holds {
            let name = fs::read_to_string(proc_entry.path().join("comm")).ok()?;
            return Some((name.trim().to_owned(), pid));
        }
    }
    None
}

/// The socket inodes listening on `port` in one `/proc/net/tcp*` table.
fn listening_inodes(table: &str, port: u16) -> Vec<String> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local = cols.get(1)?;
            let state = cols.get(3)?;
            let inode = cols.get(9)?;
            let (_, hex_port) = local.rsplit_once(':')?;
            let p = u16::from_str_radix(hex_port, 16).ok()?;
            (p == port && *state == LISTEN).then(|| (*inode).to_owned())
        })
        .collect()
}

/// Whether `GET /healthz` there says `{"status":"ok"}`, as url-anvil and
/// the API server do.
fn answers_healthz(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = s.set_write_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    let _ = s.take(4096).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.starts_with("HTTP/1.1 200") && text.contains("\"status\":\"ok\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_socket_is_found_in_the_kernels_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
";
        assert_eq!(listening_inodes(table, 8081), ["4242"]);
        assert_eq!(listening_inodes(table, 8080), ["777"]);
        assert!(listening_inodes(table, 9).is_empty());
    }

    #[test]
    fn this_process_is_named_as_the_holder_of_its_own_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let found = listening_process(port);
        if cfg!(target_os = "linux") {
            assert_eq!(found.map(|(_, pid)| pid), Some(std::process::id()));
        }
    }
}
