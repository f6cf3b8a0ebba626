//! The simulator's end of a pseudo-terminal, and the symlink that lets the host find it at a
//! stable path across re-plugging.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// An open pty: the non-blocking master the simulator talks through, and a slave fd kept open so
/// that the master never reads EIO while the host has its side closed (between opens, or before it
/// first opens it).
pub(super) struct Pty {
    master: AsyncFd<OwnedFd>,
    _slave: OwnedFd,
    /// The slave device, e.g. `/dev/pts/7`, that the host opens as its serial port.
    pub(super) slave_path: PathBuf,
}

impl Pty {
    /// Opens a new pty with the slave in raw mode (no echo, no CR/LF translation by the line
    /// discipline). Must be called inside a Tokio runtime with I/O enabled.
    pub(super) fn open() -> io::Result<Pty> {
        let pair = nix::pty::openpty(None, None).map_err(io::Error::from)?;
        // openpty(3) does not set close-on-exec: without it every process started later by this
        // one (a daemon under test, a CLI call) inherits the master, and the host's side never
        // sees the hang-up when the simulator unplugs, only a timeout.
        for fd in [&pair.master, &pair.slave] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(io::Error::from)?;
        }
        let mut termios = tcgetattr(&pair.slave).map_err(io::Error::from)?;
        cfmakeraw(&mut termios);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &termios).map_err(io::Error::from)?;
        let flags = fcntl(&pair.master, FcntlArg::F_GETFL).map_err(io::Error::from)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(&pair.master, FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        let slave_path = nix::unistd::ttyname(&pair.slave).map_err(io::Error::from)?;
        // SAFETY: `OwnedFd` owns a valid, open descriptor and always returns that same descriptor
        // from `as_raw_fd`; nothing else closes or replaces it while the `AsyncFd` owns it.
        #[allow(unsafe_code)]
        let master = unsafe {
            AsyncFd::register_with_interest(pair.master, Interest::READABLE | Interest::WRITABLE)
        }
        .map_err(io::Error::from)?;
        Ok(Pty {
            master,
            _slave: pair.slave,
            slave_path,
        })
    }

    /// Reads what the host wrote, at most `max` bytes; waits until there is something.
    pub(super) async fn read(&self, max: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; max.max(1)];
        loop {
            let mut guard = self.master.readable().await?;
            match guard
                .try_io(|fd| nix::unistd::read(fd.get_ref(), &mut buf).map_err(io::Error::from))
            {
                Ok(Ok(n)) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes some of `bytes` towards the host; returns how many were taken.
    pub(super) async fn write(&self, bytes: &[u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.writable().await?;
            match guard
                .try_io(|fd| nix::unistd::write(fd.get_ref(), bytes).map_err(io::Error::from))
            {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

/// Points `link` at `target`, replacing an existing symlink atomically (via a temporary link and a
/// rename). Refuses to replace anything that is not a symlink, so a mistyped path cannot destroy a
/// file or a real device node.
pub(super) fn point_link(link: &Path, target: &Path) -> io::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(link)
        && !meta.file_type().is_symlink()
    {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a symlink; choose another --link path or remove it",
                link.display()
            ),
        ));
    }
    let mut tmp = link.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Removes `link` if it is a symlink (the port "vanishes").
pub(super) fn remove_link(link: &Path) {
    if std::fs::symlink_metadata(link).is_ok_and(|m| m.file_type().is_symlink())
        && let Err(e) = std::fs::remove_file(link)
    {
        tracing::warn!(link = %link.display(), error = %e, "could not remove the simulator's link");
    }
}
