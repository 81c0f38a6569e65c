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
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use codeexec_protocol::CHANNEL_SOCKET;

/// The socket, listening for the engine's one connection.
pub struct Listening {
    listener: UnixListener,
    path: PathBuf,
}

impl Listening {
    /// Listens on [`CHANNEL_SOCKET`] in `dir`, replacing nothing: a socket already there means
    /// something else made it, and the runner will not take its place.
    pub fn open(dir: &Path) -> Result<Listening, String> {
        let path = dir.join(CHANNEL_SOCKET);
        let listener = UnixListener::bind(&path)
            .map_err(|error| format!("cannot listen on {}: {error}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|error| format!("cannot restrict {}: {error}", path.display()))?;
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

    #[test]
    fn a_socket_already_there_is_not_replaced() {
        let dir = temp_dir("taken");
        let _other = UnixListener::bind(dir.join(CHANNEL_SOCKET)).unwrap();
        let error = Listening::open(&dir).err().expect("refused");
        assert!(error.contains("cannot listen"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
