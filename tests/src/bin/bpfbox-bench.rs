//! bpfbox-bench: what confinement costs, measured side by side in one run.
//!
//! `bpfbox-bench run` (root, a kernel with BPF LSM) measures each workload
//! under each configuration, interleaved, for several rounds, and prints
//! medians, spreads and ratios as Markdown (docs/performance.md):
//!
//! - `none`: no BPF program attached;
//! - `floor`: programs that return at once on exactly bpfbox's hooks;
//! - `unconfined`: bpfboxd running, the workload has no profile;
//! - `allowed`: confined, every access of the workload allowed;
//! - `complain`: confined in complain mode, every access reported;
//! - `denied`: confined, every access of the workload denied and reported.
//!
//! `bpfbox-bench worker WORKLOAD N DIR PORT` is what runs under each
//! configuration (a copy of this binary per profile): it times N operations
//! and prints `ns_per_op=…`, waiting for a line on stdin before and after
//! its loop.

use std::{
    collections::BTreeMap,
    fs,
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{TcpListener, TcpStream},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use aya::{
    programs::{BtfTracePoint, Lsm},
    Btf, EbpfLoader,
};

/// Workloads, with how many operations make one sample (before --scale).
const WORKLOADS: &[(&str, u32)] = &[
    ("open", 20_000),
    ("stat", 20_000),
    ("create", 5_000),
    ("launch", 60),
    ("tcp", 2_000),
    ("build", 1_000),
];

const CONFIGS: &[&str] = &[
    "none",
    "floor",
    "unconfined",
    "allowed",
    "complain",
    "denied",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["worker", workload, n, dir, port] => {
            wait_for_go("ready");
            let ns = worker(
                workload,
                n.parse().unwrap_or(1),
                Path::new(dir),
                port.parse().unwrap_or(0),
            );
            wait_for_go(&format!("ns_per_op={ns:.1}"));
            ExitCode::SUCCESS
        }
        ["run", rest @ ..] => match run(rest) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("bpfbox-bench: {err}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!(
                "usage: bpfbox-bench run [--rounds N] [--scale F] [--bin-dir DIR] [--workloads A,B] [--configs A,B]"
            );
            ExitCode::from(2)
        }
    }
}

/// A comma-separated list of names.
fn list(arg: Option<&&str>, usage: &str) -> Result<Vec<String>, String> {
    let arg = arg.ok_or(usage)?;
    Ok(arg.split(',').map(str::to_owned).collect())
}

/// Says `line`, then waits for a line on stdin (none when stdin is closed):
/// the parent reads the kernel's counters while the worker waits.
fn wait_for_go(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
    let _ = std::io::stdin().read_line(&mut String::new());
}

/// Times `n` operations of `workload` in `dir`; returns ns per operation.
/// Failures (a denied configuration) are part of what is measured.
fn worker(workload: &str, n: u32, dir: &Path, port: u16) -> f64 {
    let cached = dir.join("cached");
    let scratch = dir.join("w");
    let start = Instant::now();
    for i in 0..n {
        match workload {
            "open" => drop(fs::File::open(&cached)),
            "stat" => drop(fs::metadata(&cached)),
            "create" => {
                let f = scratch.join(format!("f{i}"));
                drop(fs::File::create(&f));
                drop(fs::remove_file(&f));
            }
            "launch" => drop(Command::new(dir.join("true")).status()),
            "tcp" => drop(TcpStream::connect(("127.0.0.1", port))),
            "build" => build_step(&scratch, i),
            // one report per file: `n` distinct files, each opened once
            "flood" => drop(fs::File::open(dir.join("flood").join(format!("f{i}")))),
            _ => panic!("unknown workload {workload}"),
        }
    }
    start.elapsed().as_nanos() as f64 / f64::from(n.max(1))
}

/// One step of a build-like mix: write a source, read it back, hash it,
/// stat it, rename it to its "object", remove it.
fn build_step(dir: &Path, i: u32) {
    let src = dir.join(format!("s{i}.c"));
    let obj = dir.join(format!("s{i}.o"));
    let text = format!("int f{i}(void) {{ return {i}; }}\n").repeat(64);
    let _ = fs::write(&src, &text);
    let mut back = Vec::new();
    if let Ok(mut f) = fs::File::open(&src) {
        let _ = f.read_to_end(&mut back);
    }
    let hash = back.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    std::hint::black_box(hash);
    let _ = fs::metadata(&src);
    let _ = fs::rename(&src, &obj);
    let _ = fs::remove_file(&obj);
}

struct Bench {
    work: PathBuf,
    bin_dir: PathBuf,
    scale: f64,
    port: u16,
    /// (config, workload) → ns/op of each round
    samples: BTreeMap<(String, String), Vec<f64>>,
    /// config → program → (run time ns, runs) of our (or the floor's) programs
    hooks: BTreeMap<String, ProgramStats>,
    /// (config, workload) → run time ns of all those programs per operation
    /// in each round, the worker's loop only
    bpf_per_op: BTreeMap<(String, String), Vec<f64>>,
    /// (config, workload) → how file checks found their rules, summed over rounds
    lookups: BTreeMap<(String, String), Lookups>,
    /// Only these workloads and configurations (all when empty).
    only_workloads: Vec<String>,
    only_configs: Vec<String>,
    daemon_notes: Vec<String>,
}

fn run(args: &[&str]) -> Result<(), String> {
    let mut rounds = 5;
    let mut scale = 1.0;
    let mut bin_dir = std::env::var("BPFBOX_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(Path::to_path_buf))
                .unwrap_or_default()
        });
    let (mut only_workloads, mut only_configs) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "--rounds" => rounds = it.next().and_then(|v| v.parse().ok()).ok_or("--rounds N")?,
            "--scale" => scale = it.next().and_then(|v| v.parse().ok()).ok_or("--scale F")?,
            "--bin-dir" => bin_dir = it.next().map(PathBuf::from).ok_or("--bin-dir DIR")?,
            "--workloads" => only_workloads = list(it.next(), "--workloads A,B")?,
            "--configs" => only_configs = list(it.next(), "--configs A,B")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let work = std::env::temp_dir().join(format!("bpfbox-bench-{}", std::process::id()));
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let mut bench = Bench {
        work,
        bin_dir,
        scale,
        port,
        samples: BTreeMap::new(),
        hooks: BTreeMap::new(),
        bpf_per_op: BTreeMap::new(),
        lookups: BTreeMap::new(),
        only_workloads,
        only_configs,
        daemon_notes: Vec::new(),
    };
    bench.prepare()?;
    let phases = ["none", "floor", "bpfbox"];
    for round in 0..rounds {
        eprintln!("bpfbox-bench: round {}/{rounds}", round + 1);
        // interleave: each round starts with another configuration
        for k in 0..phases.len() {
            match phases[(round + k) % phases.len()] {
                "none" => bench.phase_none()?,
                "floor" => bench.phase_floor()?,
                _ => bench.phase_bpfbox(round)?,
            }
        }
    }
    bench.report(rounds);
    let _ = fs::remove_dir_all(&bench.work);
    Ok(())
}

impl Bench {
    fn prepare(&self) -> Result<(), String> {
        let e = |e: std::io::Error| e.to_string();
        let data = self.work.join("data");
        fs::create_dir_all(data.join("w")).map_err(e)?;
        fs::create_dir_all(self.work.join("bin")).map_err(e)?;
        fs::create_dir_all(self.work.join("policy")).map_err(e)?;
        fs::write(data.join("cached"), vec![b'x'; 4096]).map_err(e)?;
        fs::create_dir_all(data.join("flood")).map_err(e)?;
        for i in 0..self.flood_files() {
            fs::write(data.join("flood").join(format!("f{i}")), b"x").map_err(e)?;
        }
        fs::copy("/bin/true", data.join("true")).map_err(e)?;
        let me = std::env::current_exe().map_err(e)?;
        for kind in ["plain", "allowed", "complain", "denied"] {
            let copy = self.work.join("bin").join(kind);
            fs::copy(&me, &copy).map_err(e)?;
            fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).map_err(e)?;
        }
        let runtime = "[[fs]]\nfile = [\"/usr/**\", \"/lib/**\", \"/lib64/**\", \"/etc/ld.so.cache\"]\naccess = [\"read\", \"exec\", \"getattr\"]\n";
        let exe = |kind: &str| self.work.join("bin").join(kind).display().to_string();
        let data_rules = format!(
            "[[fs]]\nfile = \"{}/**\"\naccess = \"any\"\n[[net]]\nfamily = [\"inet\", \"inet6\", \"unix\"]\noperation = \"any\"\n",
            data.display()
        );
        let profiles = [
            (
                "allowed",
                format!(
                    "profile = \"{}\"\ntaint_on_exec = true\n{runtime}{data_rules}",
                    exe("allowed")
                ),
            ),
            (
                "complain",
                format!(
                    "profile = \"{}\"\nmode = \"complain\"\ntaint_on_exec = true\n{runtime}",
                    exe("complain")
                ),
            ),
            (
                "denied",
                format!(
                    "profile = \"{}\"\ntaint_on_exec = true\n{runtime}",
                    exe("denied")
                ),
            ),
        ];
        for (name, text) in profiles {
            fs::write(self.work.join("policy").join(format!("{name}.toml")), text).map_err(e)?;
        }
        Ok(())
    }

    /// The command that runs `n` operations of `workload` in worker copy `kind`.
    fn worker_command(&self, kind: &str, workload: &str, n: u32) -> Command {
        let mut command = Command::new(self.work.join("bin").join(kind));
        command
            .args(["worker", workload, &n.to_string()])
            .arg(self.work.join("data"))
            .arg(self.port.to_string());
        command
    }

    /// Runs `n` operations of `workload` in worker copy `kind`: its
    /// ns_per_op line, and `around()`'s two results, taken while the worker
    /// waits just before its loop and just after it. The worker's start and
    /// exit (an exec, its libraries' maps) are then left out of the BPF
    /// figures, as the wall clock, which it takes around its loop, leaves
    /// them out.
    fn worker<T>(
        &self,
        kind: &str,
        workload: &str,
        n: u32,
        around: impl Fn() -> T,
    ) -> Result<(String, T, T), String> {
        let mut child = self
            .worker_command(kind, workload, n)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut go = child.stdin.take().ok_or("no stdin")?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let mut next = || lines.next().and_then(Result::ok).unwrap_or_default();
        let ready = next();
        if ready != "ready" {
            let _ = child.wait();
            return Err(format!(
                "{kind}/{workload}: the worker did not start ({ready})"
            ));
        }
        let before = around();
        writeln!(go, "go").map_err(|e| e.to_string())?;
        let result = next();
        let after = around();
        writeln!(go, "go").map_err(|e| e.to_string())?;
        drop(go);
        child.wait().map_err(|e| e.to_string())?;
        Ok((result, before, after))
    }

    /// Runs every workload with worker copy `kind`, recording under `config`.
    fn workloads(&mut self, config: &str, kind: &str) -> Result<(), String> {
        if !selected(&self.only_configs, config) {
            return Ok(());
        }
        let names = hook_program_names();
        let counters = Lookups::counters();
        for (workload, n) in WORKLOADS {
            if !selected(&self.only_workloads, workload) {
                continue;
            }
            let n = ((f64::from(*n) * self.scale).round() as u32).max(1);
            // Two samples: the wall clock with the kernel's run-time
            // statistics off (each program run costs two clock reads while
            // they are on, which is the instrument's cost, not bpfbox's),
            // then the BPF figures with them on.
            let (text, (), ()) = self.worker(kind, workload, n, || ())?;
            let stats =
                aya::sys::enable_stats(aya::sys::Stats::RunTime).map_err(|e| e.to_string())?;
            let read = || (counters.as_ref().map(Lookups::read), hook_stats(&names));
            let (_, (lookups_before, bpf_before), (lookups_after, bpf_after)) =
                self.worker(kind, workload, n, read)?;
            drop(stats);
            let ns: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix("ns_per_op="))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{config}/{workload}: no result ({text})"))?;
            self.samples
                .entry((config.to_owned(), (*workload).to_owned()))
                .or_default()
                .push(ns);
            // one pair of readings around the sample serves both the
            // per-program table and the per-operation one
            let bpf = since(&bpf_after, &bpf_before);
            self.bpf_per_op
                .entry((config.to_owned(), (*workload).to_owned()))
                .or_default()
                .push(total(&bpf).0 as f64 / f64::from(n));
            let hooks = self.hooks.entry(config.to_owned()).or_default();
            for (program, (ns, runs)) in bpf {
                let e = hooks.entry(program).or_default();
                e.0 += ns;
                e.1 += runs;
            }
            if let (Some(b), Some(a)) = (lookups_before, lookups_after) {
                let e = self
                    .lookups
                    .entry((config.to_owned(), (*workload).to_owned()))
                    .or_default();
                e.add(&a.since(&b));
            }
        }
        Ok(())
    }

    fn unload(&self) -> Result<(), String> {
        let status = Command::new(self.bin_dir.join("bpfboxd"))
            .args(["unload", "--lock-file"])
            .arg(self.work.join("bpfboxd.lock"))
            .stdout(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("bpfboxd unload failed".into());
        }
        // the kernel frees detached programs a little later: wait until
        // none of ours is left, or `none` would not be none
        let names = hook_program_names();
        let deadline = Instant::now() + Duration::from_secs(30);
        while loaded(&names) > 0 {
            if Instant::now() > deadline {
                return Err(format!(
                    "{} of bpfbox's programs stay loaded after unload",
                    loaded(&names)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    fn phase_none(&mut self) -> Result<(), String> {
        self.unload()?;
        self.workloads("none", "plain")
    }

    fn phase_floor(&mut self) -> Result<(), String> {
        self.unload()?;
        let btf = Btf::from_sys_fs().map_err(|e| e.to_string())?;
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .load(bpfbox_tests::floor::OBJECT)
            .map_err(|e| e.to_string())?;
        for name in bpfbox_ebpf::LSM_PROGRAMS {
            let p: &mut Lsm = ebpf
                .program_mut(name)
                .ok_or(format!("floor lacks {name}"))?
                .try_into()
                .map_err(|e: aya::programs::ProgramError| e.to_string())?;
            p.load(bpfbox_ebpf::lsm_hook(name), &btf)
                .map_err(|e| e.to_string())?;
            p.attach().map_err(|e| e.to_string())?;
        }
        for name in bpfbox_ebpf::TRACEPOINTS {
            let p: &mut BtfTracePoint = ebpf
                .program_mut(name)
                .ok_or(format!("floor lacks {name}"))?
                .try_into()
                .map_err(|e: aya::programs::ProgramError| e.to_string())?;
            p.load(name, &btf).map_err(|e| e.to_string())?;
            p.attach().map_err(|e| e.to_string())?;
        }
        let result = self.workloads("floor", "plain");
        drop(ebpf); // detaches
        result
    }

    fn phase_bpfbox(&mut self, round: usize) -> Result<(), String> {
        self.unload()?;
        let mut daemon = Daemon::start(&self.bin_dir, &self.work)?;
        let kinds = [
            ("unconfined", "plain"),
            ("allowed", "allowed"),
            ("complain", "complain"),
            ("denied", "denied"),
        ];
        let mut result = Ok(());
        for k in 0..kinds.len() {
            let (config, kind) = kinds[(round + k) % kinds.len()];
            if round == 0 && config == "denied" {
                let (cpu, rss) = daemon.usage();
                result = self.workloads(config, kind);
                let (cpu2, rss2) = daemon.usage();
                self.daemon_notes.push(format!(
                    "daemon during the `denied` workloads (every access an event): {:.1} s CPU, RSS {} → {} KiB",
                    (cpu2 - cpu) as f64 / 100.0,
                    rss,
                    rss2
                ));
            } else {
                result = result.and(self.workloads(config, kind));
            }
        }
        if round == 0 {
            // let it finish with the events of the last workloads first
            std::thread::sleep(Duration::from_secs(2));
            let (cpu, rss) = daemon.usage();
            std::thread::sleep(Duration::from_secs(3));
            let (cpu2, _) = daemon.usage();
            self.daemon_notes.push(format!(
                "daemon at idle: {} CPU ticks in 3 s, RSS {rss} KiB",
                cpu2 - cpu
            ));
            if selected(&self.only_configs, "denied") {
                self.daemon_notes.push(self.drain(&mut daemon)?);
            }
            self.daemon_notes.push(self.apply_10k_rules(&mut daemon)?);
        }
        daemon.stop();
        result
    }

    /// How fast the daemon drains a flood: the `denied` worker opens this
    /// many distinct files, one report each (repeats of one file would be
    /// folded by the kernel), as fast as it can.
    fn flood_files(&self) -> u32 {
        ((20_000.0 * self.scale).round() as u32).max(100)
    }

    fn drain(&self, daemon: &mut Daemon) -> Result<String, String> {
        let n = self.flood_files();
        let (received0, lost0) = daemon.counters();
        let (cpu0, rss0) = daemon.usage();
        let start = Instant::now();
        let status = self
            .worker_command("denied", "flood", n)
            // closed: the worker does not wait for a go
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("the flood worker failed".into());
        }
        let produced = start.elapsed();
        let line = daemon.wait_log("event counters", |l| {
            let (r, l) = (log_field(l, "received"), log_field(l, "lost"));
            r.saturating_sub(received0) + l.saturating_sub(lost0) >= u64::from(n)
        })?;
        let drained = start.elapsed();
        let (cpu1, rss1) = daemon.usage();
        let received = log_field(&line, "received") - received0;
        let lost = log_field(&line, "lost") - lost0;
        Ok(format!(
            "a flood of {n} distinct denials (opened in {:.2} s): the daemon received {received} and the kernel counted {lost} lost, all within {:.1} s (its counters log once a second): ≥ {:.0} events/s drained; daemon CPU {:.2} s, RSS {rss0} → {rss1} KiB",
            produced.as_secs_f64(),
            drained.as_secs_f64(),
            received as f64 / drained.as_secs_f64(),
            (cpu1 - cpu0) as f64 / 100.0
        ))
    }

    /// A profile of 10 000 file rules, written while the daemon runs: how
    /// long its reload (compile + apply) takes, as the daemon logs it.
    fn apply_10k_rules(&self, daemon: &mut Daemon) -> Result<String, String> {
        let mut text = format!("profile = \"{}/bin/ten-thousand\"\n", self.work.display());
        for i in 0..10_000 {
            text += &format!(
                "[[fs]]\nfile = \"{}/data/w/r{i}\"\naccess = \"read\"\n",
                self.work.display()
            );
        }
        fs::write(self.work.join("policy").join("big.toml"), text).map_err(|e| e.to_string())?;
        let line = daemon.wait_log("policy applied", |l| {
            l.contains("entries=") && !l.contains("written=0")
        })?;
        fs::remove_file(self.work.join("policy").join("big.toml")).map_err(|e| e.to_string())?;
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .unwrap_or("?")
                .to_owned()
        };
        Ok(format!(
            "hot apply of a new 10 000-rule profile: {} ms (parse, compile, write {} map entries)",
            field("elapsed_ms"),
            field("written")
        ))
    }

    fn report(&self, rounds: usize) {
        let m = |config: &str, workload: &str| {
            self.samples
                .get(&(config.to_owned(), workload.to_owned()))
                .map(|v| median_spread(v).0)
        };
        println!("Medians of {rounds} interleaved rounds, µs per operation (min–max), and ratios to `none`:\n");
        print!("| workload |");
        for c in CONFIGS {
            print!(" {c} |");
        }
        println!();
        println!("|---|{}", "---|".repeat(CONFIGS.len()));
        for (workload, _) in WORKLOADS {
            print!("| {workload} |");
            let base = m("none", workload).unwrap_or(f64::NAN);
            for c in CONFIGS {
                let key = ((*c).to_owned(), (*workload).to_owned());
                match self.samples.get(&key) {
                    Some(v) => {
                        let (med, lo, hi) = median_spread(v);
                        print!(
                            " {:.2} ({:.2}–{:.2}) **×{:.3}** |",
                            med / 1000.0,
                            lo / 1000.0,
                            hi / 1000.0,
                            med / base
                        );
                    }
                    None => print!(" – |"),
                }
            }
            println!();
        }
        println!("\nRatios to the floor (trivial programs on the same hooks):\n");
        println!("| workload | unconfined | allowed | complain | denied |\n|---|---|---|---|---|");
        for (workload, _) in WORKLOADS {
            let floor = m("floor", workload).unwrap_or(f64::NAN);
            print!("| {workload} |");
            for c in ["unconfined", "allowed", "complain", "denied"] {
                print!(" ×{:.3} |", m(c, workload).unwrap_or(f64::NAN) / floor);
            }
            println!();
        }
        self.report_programs();
        self.report_bpf_per_op(&|w: &str| m("none", w));
        self.report_lookups();
        println!();
        for note in &self.daemon_notes {
            println!("- {note}");
        }
    }
}

fn selected(only: &[String], name: &str) -> bool {
    only.is_empty() || only.iter().any(|o| o == name)
}

type StatsMap = aya::maps::PerCpuArray<aya::maps::MapData, u64>;

/// How confined tasks' file checks found their rules (`BPFBOX_STAT_*`
/// of ebpf/src/cache.h), from the pinned counters of a running bpfboxd.
#[derive(Debug, Default, Clone, Copy)]
struct Lookups {
    hits: u64,
    chain_hits: u64,
    walks: u64,
}

impl Lookups {
    /// The pinned counters of a running bpfboxd, if any.
    fn counters() -> Option<StatsMap> {
        let path = Path::new("/sys/fs/bpf/bpfbox")
            .join(format!("v{}", bpfbox_abi::ABI_VERSION))
            .join("maps")
            .join(bpfbox_ebpf::maps::STATS);
        let map = aya::maps::MapData::from_pin(path).ok()?;
        aya::maps::PerCpuArray::try_from(aya::maps::Map::PerCpuArray(map)).ok()
    }

    fn read(stats: &StatsMap) -> Self {
        let at = |i: u32| stats.get(&i, 0).map_or(0, |v| v.iter().sum());
        Self {
            hits: at(bpfbox_abi::STAT_CACHE_HITS),
            chain_hits: at(bpfbox_abi::STAT_CHAIN_HITS),
            walks: at(bpfbox_abi::STAT_WALKS),
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            hits: self.hits.saturating_sub(before.hits),
            chain_hits: self.chain_hits.saturating_sub(before.chain_hits),
            walks: self.walks.saturating_sub(before.walks),
        }
    }

    fn add(&mut self, other: &Self) {
        self.hits += other.hits;
        self.chain_hits += other.chain_hits;
        self.walks += other.walks;
    }
}

/// Per program name: (run time ns, runs).
type ProgramStats = BTreeMap<String, (u64, u64)>;

/// ns per invocation, or None when the program did not run.
fn per_run((ns, runs): (u64, u64)) -> Option<f64> {
    (runs > 0).then(|| ns as f64 / runs as f64)
}

/// The median of `v` (the upper one of an even count), its minimum and its
/// maximum; `v` must not be empty.
fn median_spread(v: &[f64]) -> (f64, f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// What ran between the readings `before` and `after`, per program.
fn since(after: &ProgramStats, before: &ProgramStats) -> ProgramStats {
    after
        .iter()
        .map(|(program, &(ns, runs))| {
            let (ns0, runs0) = before.get(program).copied().unwrap_or_default();
            (
                program.clone(),
                (ns.saturating_sub(ns0), runs.saturating_sub(runs0)),
            )
        })
        .collect()
}

fn total(stats: &ProgramStats) -> (u64, u64) {
    stats
        .values()
        .fold((0, 0), |(t, c), (ns, runs)| (t + ns, c + runs))
}

impl Bench {
    /// The kernel's own statistics: all hooks together, then per program,
    /// so that an expensive hook stands out.
    fn report_programs(&self) {
        let floor = self.hooks.get("floor").map(total).and_then(per_run);
        println!("\nBPF run time per program invocation (`kernel.bpf_stats_enabled`), all hooks together:\n");
        println!(
            "| configuration | invocations | ns per invocation | × floor |\n|---|---|---|---|"
        );
        for c in CONFIGS {
            let Some(stats) = self.hooks.get(*c) else {
                continue;
            };
            let (ns, runs) = total(stats);
            if let Some(per) = per_run((ns, runs)) {
                let ratio = floor.map_or(String::from("–"), |f| format!("×{:.2}", per / f));
                println!("| {c} | {runs} | {per:.0} | {ratio} |");
            }
        }
        let configs: Vec<&str> = CONFIGS
            .iter()
            .copied()
            .filter(|c| self.hooks.contains_key(*c))
            .collect();
        let programs: std::collections::BTreeSet<&String> =
            self.hooks.values().flat_map(BTreeMap::keys).collect();
        println!("\nPer program: ns per invocation (invocations), programs that ran:\n");
        println!(
            "| program | {} |\n|---|{}",
            configs.join(" | "),
            "---|".repeat(configs.len())
        );
        for program in programs {
            let cells: Vec<String> = configs
                .iter()
                .map(|c| {
                    let s = self.hooks[*c].get(program).copied().unwrap_or_default();
                    per_run(s).map_or(String::from("–"), |per| format!("{per:.0} ({})", s.1))
                })
                .collect();
            if cells.iter().any(|c| c != "–") {
                println!("| {program} | {} |", cells.join(" | "));
            }
        }
        println!();
    }
}

impl Bench {
    /// The kernel's run time of all hooks per operation of each workload:
    /// the median over the rounds, its spread, and what the median adds to
    /// the operation's median time without bpfbox. Like the wall clock, it
    /// covers the worker's loop only (see `Bench::worker`).
    fn report_bpf_per_op(&self, none: &dyn Fn(&str) -> Option<f64>) {
        if self.bpf_per_op.is_empty() {
            return;
        }
        let spread = |config: &str, workload: &str| {
            self.bpf_per_op
                .get(&(config.to_owned(), workload.to_owned()))
                .filter(|v| !v.is_empty())
                .map(|v| median_spread(v))
        };
        workload_table(
            "BPF run time per operation, all hooks, µs, median of the rounds (min–max), and what it adds to the operation under `none`:",
            &["floor", "unconfined", "allowed", "complain", "denied"],
            |config, workload| {
                let (per, lo, hi) = spread(config, workload)?;
                let share = none(workload).map_or(String::from("–"), |b| {
                    format!("+{:.1} %", per / b * 100.0)
                });
                Some(format!(
                    "{:.2} ({:.2}–{:.2}) ({share})",
                    per / 1000.0,
                    lo / 1000.0,
                    hi / 1000.0
                ))
            },
        );
        // The kernel times each run between two clock reads, so a program
        // that returns at once still measures something: the instrument and
        // the call, which the floor has too.
        let median = |config: &str, workload: &str| spread(config, workload).map(|m| m.0);
        workload_table(
            "The same above the floor's (the medians' difference: the work of bpfbox's programs beyond programs that return at once), µs, and its share of the operation under `none`:",
            &["unconfined", "allowed", "complain", "denied"],
            |config, workload| {
                let above = median(config, workload)? - median("floor", workload)?;
                let share = none(workload).map_or(String::from("–"), |b| {
                    format!("{:+.1} %", above / b * 100.0)
                });
                Some(format!("{:.2} ({share})", above / 1000.0))
            },
        );
    }

    /// How the file checks of confined workloads found their rules.
    fn report_lookups(&self) {
        if self.lookups.is_empty() {
            return;
        }
        workload_table(
            "File checks of confined tasks, all rounds: object cached / object's own rules + cached directory chain / walk to the root:",
            &["allowed", "complain", "denied"],
            |config, workload| {
                let l = self
                    .lookups
                    .get(&(config.to_owned(), workload.to_owned()))?;
                Some(format!("{} / {} / {}", l.hits, l.chain_hits, l.walks))
            },
        );
    }
}

/// A Markdown table of `configs` by workload, under `heading`; `cell` is
/// None where the pair did not run, and a workload where none ran is left out.
fn workload_table(heading: &str, configs: &[&str], cell: impl Fn(&str, &str) -> Option<String>) {
    println!("{heading}\n");
    println!(
        "| workload | {} |\n|---|{}",
        configs.join(" | "),
        "---|".repeat(configs.len())
    );
    for (workload, _) in WORKLOADS {
        let cells: Vec<Option<String>> = configs.iter().map(|c| cell(c, workload)).collect();
        if cells.iter().any(Option::is_some) {
            let cells: Vec<String> = cells
                .into_iter()
                .map(|c| c.unwrap_or_else(|| String::from("–")))
                .collect();
            println!("| {workload} | {} |", cells.join(" | "));
        }
    }
    println!();
}

/// Program names as the kernel keeps them (15 characters at most).
fn hook_program_names() -> Vec<String> {
    bpfbox_ebpf::LSM_PROGRAMS
        .iter()
        .chain(bpfbox_ebpf::TRACEPOINTS)
        .map(|n| n.chars().take(15).collect())
        .collect()
}

/// How many loaded programs are named `names`.
fn loaded(names: &[String]) -> usize {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter(|p| {
            p.name_as_str()
                .is_some_and(|n| names.iter().any(|x| x == n))
        })
        .count()
}

/// (run time ns, run count) of each loaded program named in `names`.
fn hook_stats(names: &[String]) -> ProgramStats {
    let mut stats = ProgramStats::new();
    for p in aya::programs::loaded_programs().filter_map(Result::ok) {
        let Some(name) = p.name_as_str().filter(|n| names.iter().any(|x| x == n)) else {
            continue;
        };
        let e = stats.entry(name.to_owned()).or_default();
        e.0 += p.run_time().as_nanos() as u64;
        e.1 += p.run_count();
    }
    stats
}

/// `name=N` of a log line, 0 when absent.
fn log_field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or(0)
}

/// bpfboxd, run for one phase.
struct Daemon {
    child: Child,
    log: std::sync::mpsc::Receiver<String>,
    /// (received, lost) of its last `event counters` line read
    counters: (u64, u64),
}

impl Daemon {
    fn start(bin_dir: &Path, work: &Path) -> Result<Self, String> {
        let mut child = Command::new(bin_dir.join("bpfboxd"))
            .arg("--policy-dir")
            .arg(work.join("policy"))
            .arg("--lock-file")
            .arg(work.join("bpfboxd.lock"))
            .arg("--audit-log")
            .arg(work.join("audit.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let (tx, log) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().ok_or("no stderr")?;
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Self {
            child,
            log,
            counters: (0, 0),
        };
        daemon.wait_log("bpfboxd ready", |_| true)?;
        Ok(daemon)
    }

    fn wait_log(&mut self, needle: &str, also: impl Fn(&str) -> bool) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut seen: Vec<String> = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.log.recv_timeout(left) else {
                let tail = seen[seen.len().saturating_sub(40)..].join("\n");
                return Err(format!("bpfboxd never logged {needle}; its log:\n{tail}"));
            };
            seen.push(line.clone());
            self.saw(&line);
            if line.contains(needle) && also(&line) {
                return Ok(line);
            }
        }
    }

    /// The daemon's event counters (received, lost) as last logged; the
    /// lines read on the way are dropped.
    fn counters(&mut self) -> (u64, u64) {
        while let Ok(line) = self.log.try_recv() {
            self.saw(&line);
        }
        self.counters
    }

    fn saw(&mut self, line: &str) {
        if line.contains("event counters") {
            self.counters = (log_field(line, "received"), log_field(line, "lost"));
        }
    }

    /// (utime + stime in clock ticks, VmRSS KiB)
    fn usage(&self) -> (u64, u64) {
        let pid = self.child.id();
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(vec![], |(_, r)| r.split_whitespace().collect());
        let ticks = fields
            .get(11)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        let rss = fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        (ticks, rss)
    }

    fn stop(mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id().cast_signed(), libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = std::io::stdout().flush();
    }
}
