//! systemd readiness (`Type=notify`): one datagram to `$NOTIFY_SOCKET`.

use std::{io, os::unix::net::UnixDatagram};

/// Tells systemd the daemon is ready, if it runs under systemd.
pub fn ready() -> io::Result<()> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)?;
        socket.send_to_addr(b"READY=1", &addr)?;
    } else {
        socket.send_to(b"READY=1", path)?;
    }
    Ok(())
}
