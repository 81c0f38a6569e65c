//! A SecantusDB server (a MongoDB wire-protocol server from PyPI) that a test runs on a free
//! loopback port and can stop and start again. Its data lives in a folder of its own, so a
//! restart keeps what was written, as MongoDB's would. Killed when dropped. Also a small
//! blocking client for the tests to look at what the service stored.

use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use mongodb::bson::Document;
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, IndexModel};

/// Names the `secantusd-py` executable; `scripts/test` installs it and sets this.
pub const SECANTUSD_VARIABLE: &str = "CODEEXEC_TEST_SECANTUSD";

/// A SecantusDB server on 127.0.0.1, running or stopped.
pub struct SecantusServer {
    executable: PathBuf,
    port: u16,
    data_dir: PathBuf,
    log_path: PathBuf,
    process: Option<Child>,
}

impl SecantusServer {
    /// A server with a free port and an empty data folder, not started yet.
    pub fn new(name: &str) -> SecantusServer {
        static CREATED: AtomicUsize = AtomicUsize::new(0);
        let executable = std::env::var_os(SECANTUSD_VARIABLE).map(PathBuf::from);
        let executable = executable.filter(|path| path.is_file()).unwrap_or_else(|| {
            panic!(
                "{SECANTUSD_VARIABLE} must name SecantusDB's secantusd-py, the MongoDB server \
                 these tests run against. scripts/test sets it up; by hand: \
                 `source scripts/lib.sh && ensure_secantusdb` (installs it from PyPI into \
                 /var/cache/codeexec-ci/secantusdb-venv and exports {SECANTUSD_VARIABLE})"
            )
        });
        let count = CREATED.fetch_add(1, Ordering::Relaxed);
        let stem = format!("secantus-{name}-{}-{count}", std::process::id());
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let data_dir = tmp.join(&stem);
        let _ = std::fs::remove_dir_all(&data_dir);
        std::fs::create_dir_all(&data_dir).expect("create the SecantusDB data folder");
        SecantusServer {
            executable,
            port: free_port(),
            data_dir,
            log_path: tmp.join(format!("{stem}.log")),
            process: None,
        }
    }

    /// A server that is already started.
    pub fn started(name: &str) -> SecantusServer {
        let mut server = SecantusServer::new(name);
        server.start();
        server
    }

    /// `mongodb://127.0.0.1:PORT/DATABASE`.
    pub fn uri(&self, database: &str) -> String {
        format!("mongodb://127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server and waits until it takes connections.
    pub fn start(&mut self) {
        assert!(self.process.is_none(), "SecantusDB is already running");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open the SecantusDB log");
        let mut process = self.spawn(log);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if let Ok(Some(status)) = process.try_wait() {
                panic!(
                    "SecantusDB exited ({status}) before listening:\n{}",
                    std::fs::read_to_string(&self.log_path).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "SecantusDB did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.process = Some(process);
    }

    /// Stops the server (SIGTERM, so that it saves what it holds: it does not sync every write
    /// to disk) and waits until it is gone; kills it if it takes longer than half a minute.
    pub fn stop(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        // SAFETY: kill(2) on our own child's pid with a valid signal number.
        unsafe { libc::kill(process.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while process.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = process.kill();
                let _ = process.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn spawn(&self, log: File) -> Child {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(&self.executable);
        command
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--storage-path")
            .arg(&self.data_dir)
            .args(["--standalone", "--log-level", "WARNING"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only affects the child. The
        // test thread that spawns the server outlives it, so the signal only comes if the test
        // process dies without dropping the server.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        command.spawn().expect("spawn secantusd-py")
    }
}

impl Drop for SecantusServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A port nothing listens on at the moment.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().unwrap().port()
}

/// A blocking view of one database's `executions` collection, for assertions.
pub struct Executions {
    runtime: tokio::runtime::Runtime,
    collection: Collection<Document>,
}

impl Executions {
    pub fn open(uri: &str) -> Executions {
        Executions::open_collection(uri, "executions")
    }

    /// A view of another collection of the same database, e.g. `submissions`.
    pub fn open_collection(uri: &str, name: &str) -> Executions {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let collection = runtime.block_on(async {
            let mut options = ClientOptions::parse(uri).await.expect("a valid URI");
            options.server_selection_timeout = Some(Duration::from_secs(10));
            let database = options
                .default_database
                .clone()
                .expect("a database in the URI");
            let client = Client::with_options(options).unwrap();
            client.database(&database).collection(name)
        });
        Executions {
            runtime,
            collection,
        }
    }

    /// Every stored document matching `filter`, `_id` included.
    pub fn find(&self, filter: Document) -> Vec<Document> {
        self.runtime.block_on(async {
            let cursor = self.collection.find(filter).await.expect("find");
            cursor.try_collect().await.expect("read the cursor")
        })
    }

    /// The one record of `job_id`, if it is stored.
    pub fn record(&self, job_id: &str) -> Option<Document> {
        let mut found = self.find(mongodb::bson::doc! { "jobId": job_id });
        assert!(found.len() <= 1, "several records for job {job_id}");
        found.pop()
    }

    /// The collection's indexes, as the server lists them; none while the collection does not
    /// exist yet.
    pub fn indexes(&self) -> Vec<IndexModel> {
        self.runtime.block_on(async {
            match self.collection.list_indexes().await {
                Ok(cursor) => cursor.try_collect().await.expect("read the cursor"),
                Err(_) => Vec::new(),
            }
        })
    }
}
