//! `deploy/slurm/impasto-batch.sbatch` on a real single-node Slurm cluster
//! (`deploy/slurm/test-cluster.sh`: munged, slurmctld and slurmd in a temporary folder): an array
//! of three tasks makes every item of the batch exactly once; then an array whose task is
//! cancelled mid-way, resubmitted, redoes only the items that were missing.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::batch::{
    assert_only_results, expected, photos, reports, results, styles, temporaries, total, QUICK,
};
use common::{repo, weights};
use tempfile::TempDir;

const INSTALL: &str = "install them with \
                       `apt-get install -y slurmctld slurmd slurm-client munge` (.ci/run does this)";
const TASKS: usize = 3;
/// The longest an array may take to finish.
const PATIENCE: Duration = Duration::from_secs(150);

/// True when `exe` is on PATH or in an sbin folder (not always on a user's PATH).
fn installed(exe: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|d| d.join(exe).is_file())
}

/// A running test cluster, stopped (jobs cancelled, daemons ended) when dropped.
struct Cluster {
    dir: TempDir,
}

impl Cluster {
    fn start() -> Self {
        for exe in [
            "munged",
            "slurmctld",
            "slurmd",
            "sbatch",
            "squeue",
            "scancel",
        ] {
            assert!(
                installed(exe),
                "{exe} is missing: the Slurm test needs Slurm and MUNGE; {INSTALL}"
            );
        }
        let cluster = Cluster {
            dir: tempfile::tempdir().unwrap(),
        };
        // Two free ports, held together so that they differ.
        let listeners = [(); 2].map(|_| TcpListener::bind("127.0.0.1:0").unwrap());
        let [ctld, slurmd] = listeners.each_ref().map(|l| l.local_addr().unwrap().port());
        drop(listeners);
        let out = cluster
            .script("up")
            .env("SLURMCTLD_PORT", ctld.to_string())
            .env("SLURMD_PORT", slurmd.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the test cluster did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    fn script(&self, action: &str) -> Command {
        let mut c = Command::new(repo("deploy/slurm/test-cluster.sh"));
        c.arg(action).arg(self.dir.path());
        c
    }

    /// A Slurm client command talking to this cluster.
    fn client(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", self.dir.path().join("slurm.conf"));
        c
    }

    /// Submits the array script over `inputs` into `out` (logs in `out/../logs`); its job id.
    fn submit(&self, inputs: &Path, out: &Path, cache: &Path) -> String {
        let logs = out.parent().unwrap().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let mut sbatch = self.client("sbatch");
        sbatch
            .current_dir(out.parent().unwrap())
            .env("IMPASTO_BIN", env!("CARGO_BIN_EXE_impasto"))
            .env("IMPASTO_WEIGHTS", weights())
            .env("IMPASTO_CACHE", cache)
            .arg("--parsable")
            .arg(format!("--array=0-{}", TASKS - 1))
            .args(["--cpus-per-task=1", "--mem=1G"])
            .arg(format!("--output={}/%A_%a.out", logs.display()))
            .arg(repo("deploy/slurm/impasto-batch.sbatch"))
            .arg(inputs);
        for s in styles() {
            sbatch.arg("--style").arg(s);
        }
        let out = ok(sbatch.arg("-o").arg(out).args(QUICK).output().unwrap());
        out.trim().split(';').next().unwrap().to_string()
    }

    /// The state of each task of `job` (PENDING, RUNNING, COMPLETED, CANCELLED...).
    fn states(&self, job: &str) -> BTreeMap<usize, String> {
        let out = self
            .client("squeue")
            .args([
                "--noheader",
                "--array",
                "--states=all",
                "--format=%K %T",
                "--jobs",
            ])
            .arg(job)
            .output()
            .unwrap();
        ok(out)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(task, state)| Some((task.parse().ok()?, state.to_string())))
            .collect()
    }

    /// Waits until every task of `job` has ended; their final states.
    fn wait(&self, job: &str, logs: &Path) -> BTreeMap<usize, String> {
        let end = [
            "COMPLETED",
            "FAILED",
            "CANCELLED",
            "TIMEOUT",
            "OUT_OF_MEMORY",
            "NODE_FAIL",
            "BOOT_FAIL",
        ];
        let start = Instant::now();
        loop {
            let states = self.states(job);
            if states.len() == TASKS && states.values().all(|s| end.contains(&s.as_str())) {
                return states;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "job {job} still not done after {PATIENCE:?}: {states:?}\n{}",
                read_logs(logs)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.script("down").output();
    }
}

/// The stdout of a command that must succeed.
fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The tasks' logs, for messages.
fn read_logs(logs: &Path) -> String {
    let mut names: Vec<_> = std::fs::read_dir(logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            format!("--- {}\n{text}", p.display())
        })
        .collect()
}

fn assert_completed(states: &BTreeMap<usize, String>, logs: &Path) {
    assert!(
        states.values().all(|s| s == "COMPLETED"),
        "{states:?}\n{}",
        read_logs(logs)
    );
}

#[test]
fn array_makes_each_item_once_and_a_resubmission_only_what_was_cancelled() {
    let cluster = Cluster::start();
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("photos");
    let cache = work.path().join("cache");
    photos(&inputs, 4);
    let want = expected(&inputs, &styles());

    // The whole array: every item once, across the three shards.
    let out = work.path().join("whole/out");
    let logs = work.path().join("whole/logs");
    let job = cluster.submit(&inputs, &out, &cache);
    assert_completed(&cluster.wait(&job, &logs), &logs);
    assert_eq!(results(&out), want, "{}", read_logs(&logs));
    assert_only_results(&out);
    let r = reports(&out, TASKS);
    assert_eq!(total(&r, "items"), want.len() as u64, "{r:?}");
    assert_eq!(total(&r, "done"), want.len() as u64, "{r:?}");
    assert_eq!(total(&r, "skipped") + total(&r, "failed"), 0, "{r:?}");
    assert_eq!(temporaries(&out), Vec::<String>::new());

    // Task 1 cancelled once some results exist: its other items are missing.
    let out = work.path().join("cancelled/out");
    let logs = work.path().join("cancelled/logs");
    let job = cluster.submit(&inputs, &out, &cache);
    let start = Instant::now();
    while !(cluster.states(&job).get(&1).is_some_and(|s| s == "RUNNING")
        && out.is_dir()
        && results(&out).len() >= 2)
    {
        assert!(start.elapsed() < PATIENCE, "{}", read_logs(&logs));
        std::thread::sleep(Duration::from_millis(100));
    }
    ok(cluster
        .client("scancel")
        .arg(format!("{job}_1"))
        .output()
        .unwrap());
    let states = cluster.wait(&job, &logs);
    assert_eq!(states[&1], "CANCELLED", "{states:?}");
    let before = results(&out);
    let missing = want.len() - before.len();
    assert!(missing > 0, "task 1 finished before it was cancelled");

    // The same array again: only the missing items run; all are there once.
    std::fs::remove_dir_all(out.join("reports")).unwrap();
    let job = cluster.submit(&inputs, &out, &cache);
    assert_completed(&cluster.wait(&job, &logs), &logs);
    assert_eq!(results(&out), want, "{}", read_logs(&logs));
    assert_only_results(&out);
    // The cancelled task's half-written files went with the items redone.
    assert_eq!(temporaries(&out), Vec::<String>::new());
    let r = reports(&out, TASKS);
    assert_eq!(total(&r, "items"), want.len() as u64, "{r:?}");
    assert_eq!(total(&r, "done"), missing as u64, "{r:?}");
    assert_eq!(total(&r, "skipped"), before.len() as u64, "{r:?}");
    assert_eq!(total(&r, "failed"), 0, "{r:?}");
    assert!(r[1]["done"].as_u64() > Some(0), "{r:?}");
}
