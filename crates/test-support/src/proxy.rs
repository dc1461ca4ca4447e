//! A real forward proxy on loopback: Debian's tinyproxy, with its own config and log, optionally
//! asking for a login (Basic authentication), as office proxies do.

use std::fs::{self, File};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::util::{
    artifacts_dir, current_test_name, die_with_parent, free_port, stop_child, tail_of_file,
    wait_until, TempDir,
};

/// How long tinyproxy may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// tinyproxy on `127.0.0.1:<free port>`. Stopped on drop; its log is then copied to
/// `target/e2e-artifacts/<test>/tinyproxy.log`.
pub struct ForwardProxy {
    process: Child,
    port: u16,
    dir: TempDir,
    artifacts_name: String,
}

impl ForwardProxy {
    /// Starts tinyproxy; with `login`, it answers 407 unless the client sends that user and
    /// password. Panics with its log if it does not come up.
    pub fn start(login: Option<(&str, &str)>) -> ForwardProxy {
        let dir = TempDir::new("e2e-proxy");
        let port = free_port();
        let basic_auth = login.map_or_else(String::new, |(user, password)| {
            format!("BasicAuth {user} {password}")
        });
        // Only loopback destinations: OBS itself sends its own requests (news, updates) to
        // the proxy it finds in the environment, and those must go nowhere.
        let filter = dir.path().join("allowed-hosts");
        fs::write(&filter, "^localhost$\n^127\\.0\\.0\\.1$\n")
            .expect("cannot write the proxy's filter");
        // No ConnectPort line: CONNECT is allowed to any port (the simulator's is random).
        let conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{log}\"\nLogLevel Info\n\
             MaxClients 16\nAllow 127.0.0.1\nFilter \"{filter}\"\nFilterDefaultDeny Yes\n\
             {basic_auth}\n",
            log = dir.path().join("tinyproxy.log").display(),
            filter = filter.display()
        );
        let conf_path = dir.path().join("tinyproxy.conf");
        fs::write(&conf_path, conf).expect("cannot write tinyproxy.conf");
        let mut command = Command::new("tinyproxy");
        command
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.path().join("stderr.log")).expect("stderr.log"));
        let mut process = die_with_parent(&mut command)
            .spawn()
            .expect("cannot run tinyproxy (Debian package `tinyproxy`)");
        let listening = wait_until(START_TIMEOUT, || {
            if matches!(process.try_wait(), Ok(Some(_))) {
                return Some(false);
            }
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| true)
        });
        if listening != Some(true) {
            stop_child(&mut process, libc::SIGKILL, Duration::ZERO);
            panic!(
                "tinyproxy did not listen on {port}; log:\n{}\nstderr:\n{}",
                tail_of_file(&dir.path().join("tinyproxy.log"), 20),
                tail_of_file(&dir.path().join("stderr.log"), 20)
            );
        }
        ForwardProxy {
            process,
            port,
            dir,
            artifacts_name: current_test_name(),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The hosts tinyproxy opened a connection to, from its log.
    pub fn connected_hosts(&self) -> Vec<String> {
        const MARKER: &str = "Established connection to host \"";
        self.log()
            .lines()
            .filter_map(|line| line.split_once(MARKER))
            .filter_map(|(_, rest)| rest.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    /// tinyproxy's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        stop_child(&mut self.process, libc::SIGTERM, Duration::from_secs(3));
        let _ = fs::copy(
            self.dir.path().join("tinyproxy.log"),
            artifacts_dir(&self.artifacts_name).join("tinyproxy.log"),
        );
    }
}
