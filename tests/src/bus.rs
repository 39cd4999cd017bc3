//! D-Bus daemons for tests: a private bus that anyone may use, and (in the
//! guest, as root) the real system bus with bpfbox's busconfig and polkit.
//!
//! Both daemons are children of the test and are killed and waited for on
//! drop, because the machine's init reaps orphans late.

use std::{
    fs,
    io::{BufRead, BufReader, Read},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, Stdio},
    sync::{
        atomic::{AtomicU32, Ordering},
        Mutex, MutexGuard, PoisonError,
    },
    thread,
    time::{Duration, Instant},
};

/// bpfbox's system-bus policy, as shipped.
pub const BUSCONFIG: &str = include_str!("../../dbus/org.bpfbox.Bpfbox1.conf");
/// bpfbox's polkit actions, as shipped.
pub const POLKIT_POLICY: &str = include_str!("../../data/polkit/org.bpfbox.bpfbox1.policy");

const SYSTEM_SOCKET: &str = "/run/dbus/system_bus_socket";
const BUSCONFIG_TARGET: &str = "/etc/dbus-1/system.d/org.bpfbox.Bpfbox1.conf";
const POLKIT_TARGET: &str = "/usr/share/polkit-1/actions/org.bpfbox.bpfbox1.policy";
const POLKITD: &str = "/usr/lib/polkit-1/polkitd";

/// A scratch directory, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bpfbox-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Kills and waits for a child; dropping a `Child` would leave a zombie.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads the address dbus-daemon prints once it listens.
fn read_address(child: &mut Child, stdout: ChildStdout) -> String {
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    let address = line.trim().to_owned();
    if address.is_empty() {
        let mut err = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            stop(child);
            let _ = stderr.read_to_string(&mut err);
        }
        panic!("dbus-daemon printed no address; it said:\n{err}");
    }
    address
}

/// A bus of its own in a scratch directory, on which every client may own
/// any name and call anything.
pub struct PrivateBus {
    child: Child,
    address: String,
    _dir: ScratchDir,
}

impl PrivateBus {
    /// Starts the bus and waits until it listens.
    #[must_use]
    pub fn start() -> Self {
        Self::with_config("")
    }

    /// Starts the bus with `extra` busconfig elements after the
    /// allow-everything policy (e.g. an `<include>` to check a file).
    #[must_use]
    pub fn with_config(extra: &str) -> Self {
        let dir = ScratchDir::new("bus");
        let config = dir.0.join("bus.conf");
        fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
  {extra}
</busconfig>
"#,
                socket = dir.0.join("socket").display(),
            ),
        )
        .expect("write bus config");
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dbus-daemon (apt package dbus)");
        let stdout = child.stdout.take().expect("piped stdout");
        let address = read_address(&mut child, stdout);
        Self {
            child,
            address,
            _dir: dir,
        }
    }

    /// The bus address, for `zbus::connection::Builder::address` or
    /// `DBUS_SYSTEM_BUS_ADDRESS`.
    #[must_use]
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// The machine's system bus with bpfbox's busconfig and polkit actions
/// installed and polkitd running: the only place where the busconfig, the
/// action defaults and polkit rules act for real. Root only, and meant for
/// the guest, whose root file system is a throwaway overlay.
pub struct SystemBus {
    /// polkitd after the bus, stopped in reverse order.
    children: Vec<Child>,
    address: String,
    dir: ScratchDir,
    _serial: MutexGuard<'static, ()>,
}

/// One system bus at a time: it has a fixed socket path.
static SYSTEM_BUS: Mutex<()> = Mutex::new(());

impl SystemBus {
    /// Installs the files, starts the bus and polkitd, and waits until
    /// polkit answers.
    #[must_use]
    pub fn start() -> Self {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(unsafe { libc::geteuid() }, 0, "SystemBus needs root");
        let serial = SYSTEM_BUS.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(
            UnixStream::connect(SYSTEM_SOCKET).is_err(),
            "a system bus already runs at {SYSTEM_SOCKET}: SystemBus will not replace it"
        );
        let _ = fs::remove_file(SYSTEM_SOCKET);
        fs::create_dir_all("/run/dbus").expect("create /run/dbus");
        install(BUSCONFIG_TARGET, BUSCONFIG);
        install(POLKIT_TARGET, POLKIT_POLICY);

        // --nopidfile: a killed bus would leave /run/dbus/pid behind and the
        // next start would fail on it.
        let mut bus = Command::new("dbus-daemon")
            .args([
                "--system",
                "--nofork",
                "--nopidfile",
                "--nosyslog",
                "--print-address=1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dbus-daemon --system");
        let stdout = bus.stdout.take().expect("piped stdout");
        let address = read_address(&mut bus, stdout);
        // From here on a panic drops `this`, which stops what runs.
        let mut this = Self {
            children: vec![bus],
            address,
            dir: ScratchDir::new("system-bus"),
            _serial: serial,
        };

        let log = this.dir.0.join("polkitd.log");
        let polkitd = Command::new(POLKITD)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log).expect("create polkitd log"))
            .stderr(Stdio::from(
                fs::File::options()
                    .append(true)
                    .open(&log)
                    .expect("open log"),
            ))
            .spawn()
            .expect("spawn polkitd (apt package polkitd)");
        this.children.push(polkitd);
        if !wait_for_owner(
            &this.address,
            "org.freedesktop.PolicyKit1",
            Duration::from_secs(60),
        ) {
            let said = fs::read_to_string(&log).unwrap_or_default();
            panic!("polkitd never took its bus name; it said:\n{said}");
        }
        this
    }

    /// The bus address (also the default system bus address).
    #[must_use]
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for SystemBus {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            stop(child);
        }
        let _ = fs::remove_file(SYSTEM_SOCKET);
        let _ = fs::remove_file(BUSCONFIG_TARGET);
        let _ = fs::remove_file(POLKIT_TARGET);
    }
}

fn install(target: &str, contents: &str) {
    let target = Path::new(target);
    fs::create_dir_all(target.parent().expect("absolute path")).expect("create dir");
    fs::write(target, contents).unwrap_or_else(|e| panic!("install {}: {e}", target.display()));
}

/// Whether `name` gets an owner on the bus at `address` within `timeout`.
///
/// Runs its own runtime on a thread of its own, so async tests may call it.
#[must_use]
pub fn wait_for_owner(address: &str, name: &str, timeout: Duration) -> bool {
    let (address, name) = (address.to_owned(), name.to_owned());
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async {
            let conn = zbus::connection::Builder::address(address.as_str())
                .expect("bus address")
                .build()
                .await
                .expect("connect to the bus");
            let dbus = zbus::fdo::DBusProxy::new(&conn).await.expect("bus proxy");
            let name = zbus::names::BusName::try_from(name.as_str()).expect("bus name");
            let deadline = Instant::now() + timeout;
            while Instant::now() < deadline {
                if dbus.name_has_owner(name.clone()).await.unwrap_or(false) {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            false
        })
    })
    .join()
    .expect("wait_for_owner thread")
}

/// The `<!-- recipe: NAME -->` blocks of docs/dbus.md, as (name, script):
/// every recipe the docs give is run by a test.
#[must_use]
pub fn doc_recipes() -> Vec<(String, String)> {
    let doc = include_str!("../../docs/dbus.md");
    let mut recipes = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("<!-- recipe: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(lines.next(), Some("```sh"), "recipe {name} has no sh block");
        let script: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        recipes.push((name.to_owned(), script.join("\n")));
    }
    recipes
}
