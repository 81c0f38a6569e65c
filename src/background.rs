//! A service running on a thread of its own inside this process, on a loopback port the system
//! picks: for tests and benches that drive the real server without starting the binary. Dropping
//! it stops the service as SIGTERM stops the binary, and waits until it has cleaned up.

use std::net::TcpListener;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::config::Settings;

pub struct BackgroundService {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundService {
    /// Starts [`serve`](crate::server::serve) with `settings` on 127.0.0.1, port 0, in a thread
    /// named after `name` with its own actix system. Panics if it cannot bind.
    pub fn start(name: &str, settings: Settings) -> BackgroundService {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("service-{name}"))
            .spawn(move || {
                let shutdown = async {
                    let _ = stopped.await;
                };
                actix_web::rt::System::new()
                    .block_on(crate::server::serve(settings, listener, shutdown))
                    .expect("the service ran");
            })
            .expect("spawn the service's thread");
        BackgroundService {
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for BackgroundService {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the background service panicked");
            }
        }
    }
}
