//! The direct channel: a Unix socket in a directory the engine mounts into the container, on
//! which the runner takes its job frame and gives back its result, without dockerd in between.
//!
//! The runner listens as soon as it starts, accepts the first connection (the engine's, made
//! while the container waits in its pool), then closes the listener and unlinks the socket, so
//! no other connection can reach it. The directory belongs to the runner's uid with mode 0700, so
//! a program (under a uid of its own) cannot even see the socket; and it only starts once the
//! connection is taken.

use std::io::{self, BufReader, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use codeexec_protocol::CHANNEL_SOCKET;
use socket2::{Domain, SockAddr, Socket, Type};

/// The socket, listening for the engine's one connection.
pub struct Listening {
    listener: UnixListener,
    path: PathBuf,
}

impl Listening {
    /// Listens on [`CHANNEL_SOCKET`] in `dir`, replacing nothing: a socket already there means
    /// something else made it, and the runner will not take its place.
    ///
    /// The socket is owner-only from its birth: on Linux the socket's own mode becomes the file's
    /// at bind, so it is restricted before it is bound. Nothing needs the path once the socket
    /// listens, since the engine may connect and remove the directory at once.
    pub fn open(dir: &Path) -> Result<Listening, String> {
        let path = dir.join(CHANNEL_SOCKET);
        let listening = || -> io::Result<UnixListener> {
            let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            // fchmod, through a duplicate of the descriptor.
            std::fs::File::from(OwnedFd::from(socket.try_clone()?))
                .set_permissions(std::fs::Permissions::from_mode(0o600))?;
            socket.bind(&SockAddr::unix(&path)?)?;
            socket.listen(1)?;
            Ok(UnixListener::from(OwnedFd::from(socket)))
        };
        let listener =
            listening().map_err(|error| format!("cannot listen on {}: {error}", path.display()))?;
        Ok(Listening { listener, path })
    }

    /// Waits for the first connection, then stops listening: the socket is closed and unlinked.
    pub fn accept_one(self) -> Result<Connection, String> {
        let accepted = self.listener.accept();
        let _ = std::fs::remove_file(&self.path);
        drop(self.listener);
        let (stream, _) =
            accepted.map_err(|error| format!("cannot accept the engine's connection: {error}"))?;
        Ok(Connection { stream })
    }
}

/// The engine's connection: the job frame comes in, the result goes out.
pub struct Connection {
    stream: UnixStream,
}

impl Connection {
    /// A buffered reader of what the engine sends: the job frame, then an interactive job's
    /// input.
    pub fn reader(&self) -> io::Result<BufReader<UnixStream>> {
        Ok(BufReader::new(self.stream.try_clone()?))
    }

    /// A writer of an interactive job's events.
    pub fn writer(&self) -> io::Result<UnixStream> {
        self.stream.try_clone()
    }

    /// Writes the answer and closes the connection.
    pub fn answer(mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()?;
        self.close()
    }

    /// Closes the connection, both ways.
    pub fn close(self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Both)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("codeexec-channel-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_first_connection_is_taken_and_no_other() {
        let dir = temp_dir("first");
        let listening = Listening::open(&dir).unwrap();
        let socket = dir.join(CHANNEL_SOCKET);
        let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only");
        let mut engine = UnixStream::connect(&socket).unwrap();
        let connection = listening.accept_one().unwrap();
        assert!(!socket.exists(), "the socket is unlinked once taken");
        assert!(
            UnixStream::connect(&socket).is_err(),
            "no second connection"
        );

        engine.write_all(b"frame").unwrap();
        engine.shutdown(Shutdown::Write).unwrap();
        let mut frame = Vec::new();
        connection
            .reader()
            .unwrap()
            .read_to_end(&mut frame)
            .unwrap();
        assert_eq!(frame, b"frame");
        connection.answer(b"result\n").unwrap();
        let mut answer = String::new();
        engine.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "result\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The engine connects as soon as the socket accepts and then removes the directory: the
    /// runner must need the socket's path no longer once it listens, or it loses the engine's
    /// connection, which the engine reads as reset (a start lost about once in a thousand).
    #[test]
    fn an_engine_removing_the_socket_as_soon_as_it_connects_is_still_served() {
        let dir = temp_dir("removed");
        let socket = dir.join(CHANNEL_SOCKET);
        for round in 0..3000 {
            let engine = std::thread::spawn({
                let socket = socket.clone();
                move || loop {
                    if let Ok(stream) = UnixStream::connect(&socket) {
                        let _ = std::fs::remove_file(&socket);
                        return stream;
                    }
                    std::thread::yield_now();
                }
            });
            let listening =
                Listening::open(&dir).unwrap_or_else(|error| panic!("round {round}: {error}"));
            let connection = listening.accept_one().unwrap();
            let mut engine = engine.join().unwrap();
            connection.answer(b"ready\n").unwrap();
            let mut answer = String::new();
            engine
                .read_to_string(&mut answer)
                .unwrap_or_else(|error| panic!("round {round}: {error}"));
            assert_eq!(answer, "ready\n", "round {round}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_socket_already_there_is_not_replaced() {
        let dir = temp_dir("taken");
        let _other = UnixListener::bind(dir.join(CHANNEL_SOCKET)).unwrap();
        let error = Listening::open(&dir).err().expect("refused");
        assert!(error.contains("cannot listen"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
